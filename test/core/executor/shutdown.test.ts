import { afterEach, expect, test } from "bun:test";
import { isCancelledError, isHearthError } from "../../../src/core/errors.ts";
import type { Executor } from "../../../src/core/executor/executor.ts";
import type { Hub } from "../../../src/core/hub.ts";
import { add, signalThenBlock } from "./fixtures/tasks.ts";
import { poolHub, rejection, sharedInts, untilAtLeast } from "./helpers.ts";

const FIXTURE = new URL("./fixtures/stop-with-jobs.ts", import.meta.url).pathname;
const hubs: Hub[] = [];

afterEach(async () => {
  await Promise.all(hubs.splice(0).map((hub) => hub.stop()));
});

/** Runs the fixture in its own `bun` process; resolves with its exit code and stdout, or "hung" if it outlives `ms`. */
async function runFixture(mode: string, ms: number): Promise<{ code: number | "hung"; stdout: string; stderr: string }> {
  const child = Bun.spawn([process.execPath, FIXTURE, mode], { stdout: "pipe", stderr: "pipe", env: { ...process.env, HEARTH_LOG_FORMAT: "json" } });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<"hung">((resolve) => {
    timer = setTimeout(() => resolve("hung"), ms);
  });
  const code = await Promise.race([child.exited, hung]);
  clearTimeout(timer);
  if (code === "hung") child.kill("SIGKILL");
  return { code, stdout: await new Response(child.stdout).text(), stderr: await new Response(child.stderr).text() };
}

test("stopping the hub with jobs in flight ends the process cleanly, nothing keeping it alive", async () => {
  const { code, stdout, stderr } = await runFixture("stop", 15_000);
  expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  const report = JSON.parse(stdout);
  expect(report.finishing).toEqual({ value: 100 });
  expect(report.hung).toEqual({ error: "HearthError", code: "EXECUTOR_ABANDONED" });
  expect(report.sleeping).toEqual({ error: "HearthError", code: "EXECUTOR_ABANDONED" });
  expect(report.queued).toEqual({ error: "CancelledError", code: "TASK_CANCELLED" });
  expect(report.stopped.clean).toBe(false);
  expect(report.stopped.abandoned.sort()).toEqual(["executor: signalThenBlock", "executor: sleepSyncFor"]);
}, 20_000);

test("an idle pool does not keep the process alive", async () => {
  const { code, stdout } = await runFixture("idle", 15_000);
  expect(code).toBe(0);
  expect(JSON.parse(stdout)).toEqual({ result: 4 });
}, 20_000);

test("shutdown lets a running job finish within the stage timeout and rejects the queued ones", async () => {
  const { hub } = poolHub(1);
  hubs.push(hub);
  const counters = sharedInts(1);
  const running = hub.addExecutorJob(signalThenBlock, counters.buffer, 50);
  const queued = [rejection(hub.addExecutorJob(add, 1, 1)), rejection(hub.addExecutorJob(add, 2, 2))];
  await untilAtLeast(counters.view, 0, 1);
  const stopped = await hub.stop();
  expect(stopped).toEqual({ clean: true, abandoned: [] });
  expect(await running).toBe(50);
  for (const job of queued) {
    const err = await job;
    expect(isCancelledError(err)).toBe(true);
    expect(err.message).toContain("still queued when the executor shut down");
  }
});

test("a job still running when the close stage runs out is abandoned and named", async () => {
  const { hub, logs } = poolHub(1, { stageTimeouts: { close: 0.05 } });
  hubs.push(hub);
  const counters = sharedInts(1);
  const hung = rejection(hub.addExecutorJob(signalThenBlock, counters.buffer, -1));
  await untilAtLeast(counters.view, 0, 1);
  const stopped = await hub.stop();
  expect(stopped.abandoned).toEqual(["executor: signalThenBlock"]);
  expect(isHearthError(await hung, "EXECUTOR_ABANDONED")).toBe(true);
  expect(logs.find("abandoning signalThenBlock")).toHaveLength(1);
  expect((hub.executorIfStarted as Executor).stats().workers).toBe(0);
});

test("jobs submitted once shutdown has begun are refused with SHUTTING_DOWN", async () => {
  const { hub } = poolHub(1);
  hubs.push(hub);
  await hub.addExecutorJob(add, 1, 1);
  const stopping = hub.stop();
  const err = await rejection(hub.addExecutorJob(add, 1, 1));
  expect(isHearthError(err, "SHUTTING_DOWN")).toBe(true);
  await stopping;
});

test("shutdown is safe to call twice and gives the same answer", async () => {
  const { hub } = poolHub(1);
  const pool = hub.executor as Executor;
  await hub.addExecutorJob(add, 1, 1);
  const first = pool.shutdown(100);
  expect(pool.shutdown(100)).toBe(first);
  expect(await first).toEqual([]);
});
