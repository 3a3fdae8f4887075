import { afterEach, expect, test } from "bun:test";
import { mkdtemp, open as openFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isCancelledError } from "../../../src/core/errors.ts";
import { startDedicatedWorker } from "../../../src/core/executor/dedicated.ts";
import type { Executor } from "../../../src/core/executor/executor.ts";
import type { Hub } from "../../../src/core/hub.ts";
import { createLogger, MemoryLogDestination } from "../../../src/core/logger.ts";
import { callBack, countStarts, failingLoop, ignoreStop, pollUntilStopped, postThenSleep, readFifo, stuckInOpen, untilStopped } from "./fixtures/loops.ts";
import { add, SINK } from "./fixtures/tasks.ts";
import { poolHub, rejection, sharedInts, untilAtLeast } from "./helpers.ts";

const hubs: Hub[] = [];
const dirs: string[] = [];
const cleanups: Array<() => Promise<void>> = [];

function hubWith(workers: number, closeSeconds = 30) {
  const made = poolHub(workers, { stageTimeouts: { close: closeSeconds } });
  hubs.push(made.hub);
  return made;
}

/** A FIFO in a fresh temp dir, made with mkfifo(1). */
async function fifo(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "hearth-executor-"));
  dirs.push(dir);
  const path = join(dir, "tty");
  const made = Bun.spawn(["mkfifo", path]);
  expect(await made.exited).toBe(0);
  return path;
}

afterEach(async () => {
  await Promise.all(hubs.splice(0).map((hub) => hub.stop()));
  for (const cleanup of cleanups.splice(0)) await cleanup();
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

test("a dedicated Worker blocked reading a FIFO delivers each line to the loop through runCallbackThreadsafe", async () => {
  const { hub } = hubWith(1);
  const path = await fifo();
  const lines: Array<{ line: string; mainThread: boolean }> = [];
  hub.data.set(SINK, (line: string) => lines.push({ line, mainThread: Bun.isMainThread }));
  const reader = hub.startDedicatedWorker(readFifo, [path], { name: "reader tty" });
  expect(reader.name).toBe("reader tty");
  // Opening for write waits for the reader's open; writing and closing gives it two lines, then EOF.
  await writeFile(path, "$GPGGA,1\n$GPRMC,2\n");
  expect(await reader.done).toBe(2);
  expect(lines).toEqual([
    { line: "$GPGGA,1", mainThread: true },
    { line: "$GPRMC,2", mainThread: true },
  ]);
  expect(reader.state).toBe("done");
});

test("a dedicated Worker never takes a pool slot: pool jobs run while it blocks", async () => {
  const { hub } = hubWith(1);
  const path = await fifo();
  hub.data.set(SINK, () => {});
  const reader = hub.startDedicatedWorker(readFifo, [path]);
  expect(await hub.addExecutorJob(add, 20, 1)).toBe(21);
  expect((hub.executor as Executor).stats()).toMatchObject({ dedicated: 1, workers: 1 });
  await writeFile(path, "");
  expect(await reader.done).toBe(0);
  expect((hub.executor as Executor).stats().dedicated).toBe(0);
});

test("shutdown stops an async dedicated loop through its signal", async () => {
  const { hub } = hubWith(1);
  const started = sharedInts(1);
  const loop = hub.startDedicatedWorker(untilStopped, [started.buffer], { name: "mqtt pump" });
  await untilAtLeast(started.view, 0, 1);
  const result = await hub.stop();
  expect(result).toEqual({ clean: true, abandoned: [] });
  expect(await loop.done).toBe("mqtt pump stopped");
  expect(loop.state).toBe("stopped");
});

test("shutdown stops a synchronous dedicated loop through its stop flag", async () => {
  const { hub } = hubWith(1);
  const started = sharedInts(2);
  const loop = hub.startDedicatedWorker(pollUntilStopped, [started.buffer]);
  await untilAtLeast(started.view, 0, 1);
  expect((await hub.stop()).clean).toBe(true);
  expect(await loop.done).toBeGreaterThanOrEqual(0);
});

test("a dedicated loop that ignores its stop is terminated after its grace time and named", async () => {
  const { hub, logs } = hubWith(1);
  const started = sharedInts(2);
  const loop = hub.startDedicatedWorker(ignoreStop, [started.buffer], { name: "deaf reader", stopGraceMs: 50 });
  await untilAtLeast(started.view, 0, 1);
  const result = await hub.stop();
  expect(result.abandoned).toEqual(["executor: dedicated Worker deaf reader"]);
  expect(isCancelledError(await rejection(loop.done))).toBe(true);
  expect(logs.find("did not stop within 50 ms; terminated it")).toHaveLength(1);
});

test("a dedicated Worker stuck in a system call is left behind at shutdown without holding it up", async () => {
  const { hub, logs } = hubWith(1);
  const path = await fifo();
  const started = sharedInts(1);
  hub.startDedicatedWorker(stuckInOpen, [path, started.buffer], { name: "stuck reader", stopGraceMs: 50 });
  // Unblock its open(2) after the test, so the thread ends.
  cleanups.push(async () => (await openFile(path, "w")).close());
  await untilAtLeast(started.view, 0, 1);
  const result = await hub.stop();
  expect(result.abandoned).toEqual(["executor: dedicated Worker stuck reader"]);
  expect(logs.find("stuck in a system call")).toHaveLength(1);
});

test("a dedicated loop that throws fails its done promise and is logged with its name", async () => {
  const { hub, logs } = hubWith(1);
  const loop = hub.startDedicatedWorker(failingLoop, []);
  const err = await rejection(loop.done);
  expect(err).toBeInstanceOf(RangeError);
  expect(err.message).toBe("baud rate out of range");
  expect(err.stack).toContain("fixtures/loops.ts:");
  expect(loop.state).toBe("failed");
  expect(logs.find("Dedicated Worker failingLoop failed")).toHaveLength(1);
});

test("starting a dedicated Worker again does nothing: its loop runs on one Worker, and one stop ends it", async () => {
  const { hub } = hubWith(1);
  const { buffer, view } = sharedInts(4);
  const worker = hub.startDedicatedWorker(countStarts, [buffer], { name: "reader" });
  worker.start(); // a second start, while the first Worker boots
  await untilAtLeast(view, 0, 1);
  expect(await worker.stop()).toBe(true);
  await worker.ended;
  await untilAtLeast(view, 1, 1);
  expect(Atomics.load(view, 0)).toBe(1); // a second Worker would have run the loop too (seen here: 2)
  expect(worker.state).toBe("stopped");
  expect((await hub.stop()).abandoned).toEqual([]);
});

test("no dedicated Worker starts once shutdown has begun", async () => {
  const { hub } = hubWith(1);
  void hub.executor; // made before shutdown, as a running hub's would be
  const stopping = hub.stop();
  const started = sharedInts(1);
  expect(() => hub.startDedicatedWorker(untilStopped, [started.buffer])).toThrow(expect.objectContaining({ code: "SHUTTING_DOWN" }));
  await stopping;
});

test("a loop's messages reach its owner in order, and the stop hook wakes a loop no flag can reach (no hub needed)", async () => {
  const log = createLogger({ level: "warn", destination: new MemoryLogDestination() });
  const bell = new SharedArrayBuffer(4);
  const got: unknown[] = [];
  let allIn: () => void = () => {};
  const arrived = new Promise<void>((resolve) => (allIn = resolve));
  const worker = startDedicatedWorker(postThenSleep, [500, bell], {
    log,
    onMessage: (message) => {
      if (got.push(message) === 500) allIn();
    },
    onStop: () => {
      Atomics.store(new Int32Array(bell), 0, 1);
      Atomics.notify(new Int32Array(bell), 0);
    },
  });
  await arrived;
  expect(got.map((m) => (m as { n: number }).n)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
  expect(await worker.stop(5000)).toBe(true); // it returned by itself: woken, not terminated
  expect(await worker.done).toBe("woken by the stop hook");
  expect(worker.state).toBe("stopped");
});

test("a thread-safe call from a dedicated Worker started without a hub is refused, saying why", async () => {
  const log = createLogger({ level: "warn", destination: new MemoryLogDestination() });
  const worker = startDedicatedWorker(callBack, [], { log });
  expect(await worker.done).toContain("started without a hub");
  await worker.ended;
});
