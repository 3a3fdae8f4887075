/**
 * The executor Worker's entry: core's Worker loop, with every module that declares an executor or
 * dedicated task imported up front. From source a Worker imports a task's module when first asked for
 * it; inside a compiled binary it cannot (modules have no URL of their own there), so a task whose
 * module is not listed here is not found in a binary (test/deploy/build.test.ts checks the list).
 */
import "./engine/onewire/read-task.ts";
import "./serial/reader-worker.ts";
import "./core/executor/worker.ts";
