import { afterEach, expect, test } from "bun:test";
import { HearthError, isHearthError } from "../../../src/core/errors.ts";
import { Executor } from "../../../src/core/executor/executor.ts";
import { PoolWorker } from "../../../src/core/executor/pool-worker.ts";
import type { Hub } from "../../../src/core/hub.ts";
import { Job } from "../../../src/core/job.ts";
import { add, asyncEcho, blockFor, echo, failWithHearthError, failWithProbeError, failWithTypeError, gated, logOrder, returnFunction } from "./fixtures/tasks.ts";
import { open, poolHub, rejection, sharedInts, untilAtLeast } from "./helpers.ts";

const hubs: Hub[] = [];
function hubWith(workers: number): Hub {
  const { hub } = poolHub(workers);
  hubs.push(hub);
  return hub;
}

afterEach(async () => {
  await Promise.all(hubs.splice(0).map((hub) => hub.stop()));
});

test("a job's result comes back from a Worker, structured-cloned", async () => {
  const hub = hubWith(1);
  expect(await hub.addExecutorJob(add, 2, 3)).toBe(5);
  const reading = { port: "/dev/ttyUSB0", at: new Date(0), samples: new Map([["t", [21.5, 21.6]]]) };
  const back = await hub.addExecutorJob(echo, reading);
  expect(back).toEqual(reading);
  expect(back).not.toBe(reading);
  expect(await hub.addExecutorJob(asyncEcho, "probe")).toBe("async probe");
});

test("a pool Worker started twice is handed its slots once and heard once", async () => {
  const worker = new Worker(new URL("./fixtures/counting-worker.ts", import.meta.url).href);
  try {
    const replies: unknown[] = [];
    const answered = Promise.withResolvers<void>();
    const pooled = new PoolWorker(worker, new SharedArrayBuffer(4), {
      message: (_w, data) => {
        replies.push(data);
        answered.resolve();
      },
      close: () => {},
    });
    pooled.start();
    pooled.start();
    worker.postMessage("count?");
    await answered.promise;
    expect(replies).toEqual([2]); // its init, then the question: one init, and one listener to hear the answer
  } finally {
    worker.terminate();
  }
});

test("hub.runJob sends a Job of an executor task to the pool", async () => {
  const hub = hubWith(1);
  expect(await (hub.runJob(new Job(add), 20, 22) as Promise<number>)).toBe(42);
});

test("a job blocking its Worker for a second leaves the loop free: a loop timer keeps ticking meanwhile", async () => {
  const hub = hubWith(1);
  const ticks: number[] = [];
  const timer = setInterval(() => ticks.push(performance.now()), 10);
  try {
    const start = performance.now();
    const result = await hub.addExecutorJob(blockFor, 1000);
    const end = performance.now();
    expect(result.mainThread).toBe(false);
    const during = ticks.filter((t) => t > start && t < end);
    expect(during.length).toBeGreaterThanOrEqual(10);
    // Had the loop been held, there would be one gap of about a second between ticks.
    const gaps = during.slice(1).map((t, i) => t - during[i]!);
    expect(Math.max(...gaps)).toBeLessThan(500);
  } finally {
    clearInterval(timer);
  }
});

test("an error comes back with its class name, message and the stack of the Worker that threw", async () => {
  const hub = hubWith(1);
  const err = await rejection(hub.addExecutorJob(failWithProbeError, "/sys/bus/w1/28-01"));
  expect(err).toBeInstanceOf(Error);
  expect(err.name).toBe("Error");
  expect(err.className).toBe("ProbeError");
  expect(err.code).toBe("PROBE_GONE");
  expect(err.message).toBe("/sys/bus/w1/28-01: probe not answering");
  expect(err.stack).toStartWith("Error: /sys/bus/w1/28-01: probe not answering\n");
  expect(err.stack).toContain("fixtures/tasks.ts:"); // the frame in the Worker where it was thrown
});

test("a built-in error comes back as its own class", async () => {
  const hub = hubWith(1);
  const err = await rejection(hub.addExecutorJob(failWithTypeError));
  expect(err).toBeInstanceOf(TypeError);
  expect(err.name).toBe("TypeError");
  expect(err.message).toBe("expected a number of samples");
  expect(err.stack).toContain("fixtures/tasks.ts:");
});

test("a HearthError comes back as a HearthError with its code", async () => {
  const hub = hubWith(1);
  const err = await rejection(hub.addExecutorJob(failWithHearthError));
  expect(isHearthError(err, "SERIAL_OPEN_FAILED")).toBe(true);
  expect(err).toBeInstanceOf(HearthError);
  expect(err.message).toBe("cannot open /dev/ttyUSB9");
});

test("a Worker stays usable after its job threw", async () => {
  const hub = hubWith(1);
  await rejection(hub.addExecutorJob(failWithTypeError));
  expect(await hub.addExecutorJob(add, 1, 1)).toBe(2);
  expect(hub.executor.stats?.().workers).toBe(1);
});

test("a result that cannot be cloned fails its job with a clear error, and the Worker goes on", async () => {
  const hub = hubWith(1);
  const err = await rejection(hub.addExecutorJob(returnFunction));
  expect(isHearthError(err, "EXECUTOR_NOT_CLONEABLE")).toBe(true);
  expect(err.message).toContain("returnFunction");
  expect(await hub.addExecutorJob(add, 1, 2)).toBe(3);
});

test("arguments that cannot be cloned fail only their own job", async () => {
  const hub = hubWith(1);
  const bad = hub.addExecutorJob(echo, () => 1);
  const good = hub.addExecutorJob(add, 2, 2);
  expect(isHearthError(await rejection(bad), "EXECUTOR_NOT_CLONEABLE")).toBe(true);
  expect(await good).toBe(4);
});

test("Workers start only as jobs need them", async () => {
  const hub = hubWith(3);
  const pool = hub.executor as Executor;
  expect(pool.stats().workers).toBe(0);
  await hub.addExecutorJob(add, 1, 1);
  await hub.addExecutorJob(add, 1, 1);
  expect(pool.stats().workers).toBe(1);
});

test("a pool of N queues the rest and never runs more than N jobs at once", async () => {
  const hub = hubWith(2);
  const pool = hub.executor as Executor;
  const gate = sharedInts(1);
  const counters = sharedInts(3);
  const jobs = Array.from({ length: 7 }, (_, id) => hub.addExecutorJob(gated, gate.buffer, counters.buffer, id));
  await untilAtLeast(counters.view, 2, 2);
  const stats = pool.stats();
  expect(stats.running).toBe(2);
  expect(stats.queued).toBe(5);
  expect(Atomics.load(counters.view, 2)).toBe(2); // started: the other five wait
  open(gate.view);
  expect(await Promise.all(jobs)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  expect(Atomics.load(counters.view, 1)).toBe(2); // the peak of jobs running at once
  expect(Atomics.load(counters.view, 2)).toBe(7);
});

test("one Worker runs jobs in the order they were submitted", async () => {
  const hub = hubWith(1);
  const log = sharedInts(101);
  await Promise.all(Array.from({ length: 100 }, (_, id) => hub.addExecutorJob(logOrder, log.buffer, id)));
  expect(Array.from(log.view.subarray(1))).toEqual(Array.from({ length: 100 }, (_, id) => id));
});

test("an idle Worker takes over jobs another has not started, so short jobs do not wait behind a long one", async () => {
  const hub = hubWith(2);
  const gate = sharedInts(1);
  const counters = sharedInts(3);
  // Both Workers busy, jobs queued for both; one gated job holds its Worker.
  const long = hub.addExecutorJob(gated, gate.buffer, counters.buffer, -1);
  const short = Array.from({ length: 20 }, (_, i) => hub.addExecutorJob(add, i, 0));
  expect(await Promise.all(short)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  open(gate.view);
  expect(await long).toBe(-1);
});

test("stats count completed and failed jobs and give latency percentiles", async () => {
  const hub = hubWith(1);
  const pool = hub.executor as Executor;
  await Promise.all(Array.from({ length: 10 }, (_, i) => hub.addExecutorJob(add, i, i)));
  await rejection(hub.addExecutorJob(failWithTypeError));
  const stats = pool.stats();
  expect(stats).toMatchObject({ maxWorkers: 1, workers: 1, queued: 0, running: 0, completed: 10, failed: 1, timedOut: 0, aborted: 0 });
  expect(stats.latencyMs.samples).toBe(11);
  expect(stats.latencyMs.p50).toBeGreaterThan(0);
  expect(stats.latencyMs.p50).toBeLessThanOrEqual(stats.latencyMs.p90);
  expect(stats.latencyMs.p90).toBeLessThanOrEqual(stats.latencyMs.p99);
});

test("the hub's default executor is a pool sized by executorWorkers", async () => {
  const hub = hubWith(3);
  expect(hub.executor).toBeInstanceOf(Executor);
  expect((hub.executor as Executor).pool.maxWorkers).toBe(3);
});

test("a pool refuses a size below one Worker", () => {
  const { hub } = poolHub(1);
  expect(() => new Executor({ hub, workers: 0 })).toThrow(/at least 1/);
});

test("a job with an invalid timeout is refused", async () => {
  const hub = hubWith(1);
  const err = await rejection(hub.addExecutorJobWith(add, [1, 2], { timeout: 0 }));
  expect(isHearthError(err, "INVALID_ARGUMENT")).toBe(true);
});

test("results of quick jobs are not held back behind a job of a task not yet known to be quick", async () => {
  const hub = hubWith(1);
  await Promise.all(Array.from({ length: 200 }, (_, i) => hub.addExecutorJob(add, i, 0))); // `add` is known to be quick now
  const gate = sharedInts(1);
  const counters = sharedInts(3);
  const quick = [hub.addExecutorJob(add, 1, 1), hub.addExecutorJob(add, 2, 2)];
  const slow = hub.addExecutorJob(gated, gate.buffer, counters.buffer, 9);
  expect(await Promise.all(quick)).toEqual([2, 4]); // while `slow` still blocks its Worker
  open(gate.view);
  expect(await slow).toBe(9);
});

test("a job with a timeout reports as soon as it ends, even when a job behind it then blocks", async () => {
  const hub = hubWith(1);
  const open1 = sharedInts(1);
  open(open1.view);
  const counters = sharedInts(3);
  // Both tasks known to be quick, so outcomes may be held between them...
  await Promise.all(Array.from({ length: 200 }, (_, i) => hub.addExecutorJob(gated, open1.buffer, counters.buffer, i)));
  await Promise.all(Array.from({ length: 200 }, (_, i) => hub.addExecutorJob(add, i, 0)));
  // ...but not the outcome of a job the loop is timing: were it held behind the blocked one, its timer would run out.
  const closed = sharedInts(1);
  const timed = hub.addExecutorJobWith(add, [20, 22], { timeout: 0.2 });
  const blocked = hub.addExecutorJob(gated, closed.buffer, counters.buffer, -1);
  expect(await timed).toBe(42);
  open(closed.view);
  expect(await blocked).toBe(-1);
});

test("something that is not an executor task is refused with a clear error", async () => {
  const hub = hubWith(1);
  const notATask = { name: "readProbe", moduleUrl: import.meta.url, fn: () => 1 } as unknown as typeof add;
  const err = await rejection(hub.addExecutorJob(notATask, 1, 2));
  expect(isHearthError(err, "INVALID_ARGUMENT")).toBe(true);
  expect(err.message).toContain("executorTask()");
});
