import { afterEach, expect, test } from "bun:test";
import { isCancelledError, isHearthError, TimeoutError } from "../../../src/core/errors.ts";
import type { Executor } from "../../../src/core/executor/executor.ts";
import type { Hub } from "../../../src/core/hub.ts";
import { add, crashLater, exitWorker, gated, hang, signalThenBlock } from "./fixtures/tasks.ts";
import { open, poolHub, rejection, sharedInts, untilAtLeast } from "./helpers.ts";

const hubs: Hub[] = [];
function hubWith(workers: number) {
  const made = poolHub(workers);
  hubs.push(made.hub);
  return { ...made, pool: made.hub.executor as Executor };
}

afterEach(async () => {
  await Promise.all(hubs.splice(0).map((hub) => hub.stop()));
});

test("a job that hangs past its timeout rejects with TimeoutError and the jobs queued behind it still run", async () => {
  const { hub, pool, logs } = hubWith(1);
  const stuck = hub.addExecutorJobWith(hang, [], { timeout: 0.1 });
  const behind = [hub.addExecutorJob(add, 1, 2), hub.addExecutorJob(add, 3, 4)];
  const err = await rejection(stuck);
  expect(err).toBeInstanceOf(TimeoutError);
  expect(err.message).toContain("hang");
  expect(await Promise.all(behind)).toEqual([3, 7]);
  expect(await hub.addExecutorJob(add, 5, 6)).toBe(11);
  expect(pool.stats()).toMatchObject({ timedOut: 1, workers: 1 });
  expect(logs.find("Terminating an executor Worker")).toHaveLength(1);
});

test("a job's timeout counts from when it starts, not while it waits in the queue", async () => {
  const { hub } = hubWith(1);
  const gate = sharedInts(1);
  const counters = sharedInts(3);
  const first = hub.addExecutorJob(gated, gate.buffer, counters.buffer, 1);
  const second = hub.addExecutorJobWith(add, [2, 2], { timeout: 0.2 });
  await untilAtLeast(counters.view, 2, 1);
  // Held up behind `first` for longer than its own timeout (time passing is the point here), `second` still gets its full time once it runs.
  await new Promise<void>((resolve) => setTimeout(resolve, 300));
  open(gate.view);
  expect(await first).toBe(1);
  expect(await second).toBe(4);
});

test("a Worker killed by an uncaught error fails its job with EXECUTOR_WORKER_DIED and is replaced", async () => {
  const { hub, pool, logs } = hubWith(1);
  const crashing = hub.addExecutorJob(crashLater);
  const behind = hub.addExecutorJob(add, 2, 2);
  const err = await rejection(crashing);
  expect(isHearthError(err, "EXECUTOR_WORKER_DIED")).toBe(true);
  expect(err.message).toContain("crashLater");
  expect(err.message).toContain("RangeError: stray timer: reading out of range");
  const cause = err.cause as Error;
  expect(cause).toBeInstanceOf(RangeError);
  expect(cause.stack).toContain("fixtures/tasks.ts:");
  expect(await behind).toBe(4);
  expect(await hub.addExecutorJob(add, 1, 1)).toBe(2);
  expect(pool.stats()).toMatchObject({ failed: 1, workers: 1 });
  expect(logs.find("died of an uncaught RangeError")).toHaveLength(1);
});

test("a Worker that calls process.exit fails its job with EXECUTOR_WORKER_DIED naming the exit code, and is replaced", async () => {
  const { hub } = hubWith(1);
  const exiting = hub.addExecutorJob(exitWorker, 3);
  const behind = hub.addExecutorJob(add, 5, 5);
  const err = await rejection(exiting);
  expect(isHearthError(err, "EXECUTOR_WORKER_DIED")).toBe(true);
  expect(err.message).toContain("exitWorker");
  expect(err.message).toContain("exited with code 3");
  expect(await behind).toBe(10);
  expect(await hub.addExecutorJob(add, 1, 1)).toBe(2);
});

test("a queued job that is aborted never runs", async () => {
  const { hub, pool } = hubWith(1);
  const gate = sharedInts(1);
  const counters = sharedInts(3);
  const running = hub.addExecutorJob(gated, gate.buffer, counters.buffer, 1);
  const controller = new AbortController();
  const queued = hub.addExecutorJobWith(gated, [gate.buffer, counters.buffer, 2], { signal: controller.signal });
  await untilAtLeast(counters.view, 2, 1);
  controller.abort();
  const err = await rejection(queued);
  expect(err.name).toBe("AbortError");
  open(gate.view);
  expect(await running).toBe(1);
  expect(await hub.addExecutorJob(add, 1, 1)).toBe(2);
  expect(Atomics.load(counters.view, 2)).toBe(1); // only the first one ever started
  expect(pool.stats()).toMatchObject({ aborted: 1, workers: 1 });
});

test("a job aborted before it leaves the queue never runs", async () => {
  const { hub } = hubWith(1);
  const counters = sharedInts(3);
  const controller = new AbortController();
  const job = hub.addExecutorJobWith(signalThenBlock, [counters.buffer, 0], { signal: controller.signal });
  controller.abort(new Error("no longer needed"));
  expect((await rejection(job)).message).toBe("no longer needed");
  expect(await hub.addExecutorJob(add, 1, 1)).toBe(2);
  expect(Atomics.load(counters.view, 0)).toBe(0);
});

test("a job submitted with an aborted signal is refused at once", async () => {
  const { hub } = hubWith(1);
  const err = await rejection(hub.addExecutorJobWith(add, [1, 1], { signal: AbortSignal.abort() }));
  expect(err.name).toBe("AbortError");
});

test("a running job that is aborted is abandoned: its Worker is terminated and replaced", async () => {
  const { hub, pool } = hubWith(1);
  const counters = sharedInts(1);
  const controller = new AbortController();
  const job = hub.addExecutorJobWith(signalThenBlock, [counters.buffer, -1], { signal: controller.signal });
  const behind = hub.addExecutorJob(add, 3, 3);
  await untilAtLeast(counters.view, 0, 1);
  controller.abort();
  expect(isCancelledError(await rejection(job))).toBe(true);
  expect(await behind).toBe(6);
  expect(await hub.addExecutorJob(add, 1, 1)).toBe(2);
  expect(pool.stats()).toMatchObject({ aborted: 1, workers: 1, running: 0 });
});

test("faults on one Worker leave the others' jobs alone", async () => {
  const { hub } = hubWith(2);
  const gate = sharedInts(1);
  const counters = sharedInts(3);
  const steady = hub.addExecutorJob(gated, gate.buffer, counters.buffer, 7);
  await untilAtLeast(counters.view, 2, 1);
  await rejection(hub.addExecutorJobWith(hang, [], { timeout: 0.05 }));
  await rejection(hub.addExecutorJob(exitWorker, 1));
  open(gate.view);
  expect(await steady).toBe(7);
});
