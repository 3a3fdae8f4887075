/**
 * The blocking half of a 1-Wire probe read, for the executor: reading `w1_slave` makes the kernel
 * run a conversion, which blocks for about 750 ms. Workers import this module: no side effects.
 */
import { readFileSync } from "node:fs";
import { executorTask } from "../../core/executor/registered-task.ts";

/** Reads a probe's `w1_slave` file (blocking); the text is parsed on the loop. */
export const readW1Slave = executorTask(import.meta.url, "readW1Slave", (path: string): string => readFileSync(path, "latin1"));
