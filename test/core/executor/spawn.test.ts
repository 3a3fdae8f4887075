import { afterEach, expect, test } from "bun:test";
import { EMBEDDED_ROOT } from "../../../src/core/compiled.ts";
import { isHearthError } from "../../../src/core/errors.ts";
import { startDedicatedWorker } from "../../../src/core/executor/dedicated.ts";
import { scriptOrOwn } from "../../../src/core/executor/spawn.ts";
import type { Hub } from "../../../src/core/hub.ts";
import { silentLogger } from "../../../src/core/logger.ts";
import { entryMarkLoop } from "./fixtures/loops.ts";
import { entryMark } from "./fixtures/tasks.ts";
import { poolHub } from "./helpers.ts";

/** An entry that runs core's Worker loop and marks its Worker (what the composition root hands the core, in small). */
const MARKED_ENTRY = new URL("./fixtures/marked-entry.ts", import.meta.url).href;

const hubs: Hub[] = [];
afterEach(async () => {
  await Promise.all(hubs.splice(0).map((hub) => hub.stop()));
});

test("the executor's Workers, pooled and dedicated, start on the script the hub is given", async () => {
  const { hub } = poolHub(1, { executorScript: MARKED_ENTRY });
  hubs.push(hub);
  expect(await hub.addExecutorJob(entryMark)).toBe("marked-entry");
  expect(await hub.startDedicatedWorker(entryMarkLoop, []).done).toBe("marked-entry");
});

test("without a script, they start on core's own Worker loop, which imports each task's module when first asked", async () => {
  const { hub } = poolHub(1);
  hubs.push(hub);
  expect(await hub.addExecutorJob(entryMark)).toBe("none");
  expect(await hub.startDedicatedWorker(entryMarkLoop, []).done).toBe("none");
});

test("a dedicated Worker started without a hub starts on the script it is given", async () => {
  const worker = startDedicatedWorker(entryMarkLoop, [], { log: silentLogger(), script: MARKED_ENTRY });
  expect(await worker.done).toBe("marked-entry");
});

test("inside a compiled binary a missing script is refused with WORKER_SCRIPT_MISSING, never guessed", () => {
  const inBinary = `file://${EMBEDDED_ROOT}cli.js`;
  let refused: unknown;
  try {
    scriptOrOwn(undefined, "./worker.ts", inBinary, "executor");
  } catch (err) {
    refused = err;
  }
  expect(isHearthError(refused, "WORKER_SCRIPT_MISSING")).toBe(true);
  expect((refused as Error).message).toContain("executor Worker");
  // Given one, it is used as it is, in a binary or not.
  expect(scriptOrOwn(`${EMBEDDED_ROOT}executor-worker.js`, "./worker.ts", inBinary, "executor")).toBe(`${EMBEDDED_ROOT}executor-worker.js`);
  expect(String(scriptOrOwn(undefined, "./worker.ts", import.meta.url, "executor"))).toBe(new URL("./worker.ts", import.meta.url).href);
});
