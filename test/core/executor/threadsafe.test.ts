import { afterEach, expect, test } from "bun:test";
import { isHearthError } from "../../../src/core/errors.ts";
import { ThreadsafeHost } from "../../../src/core/executor/loop-calls.ts";
import { CALL, CALL_RESULT, ERROR } from "../../../src/core/executor/protocol.ts";
import { runCallbackThreadsafe } from "../../../src/core/executor/threadsafe.ts";
import type { Hub } from "../../../src/core/hub.ts";
import { callAfterGate, callFailing, deliverLine, reportToLoop, SINK } from "./fixtures/tasks.ts";
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

test("a pool job calls back into the loop with runCallbackThreadsafe and gets the callback's result", async () => {
  const hub = hubWith(1);
  const seen: Array<{ line: string; mainThread: boolean }> = [];
  hub.data.set(SINK, (line: string) => seen.push({ line, mainThread: Bun.isMainThread }));
  expect(await hub.addExecutorJob(reportToLoop, "T=21.5")).toBe(6);
  expect(seen).toEqual([{ line: "T=21.5", mainThread: true }]);
});

test("an error thrown by the loop's callback comes back to the Worker with its stack", async () => {
  const hub = hubWith(1);
  const seen = await hub.addExecutorJob(callFailing);
  expect(seen).toMatchObject({ name: "Error", message: "loop refused: no", code: "PROBE_GONE" });
  expect(seen?.stack).toContain("fixtures/tasks.ts:");
});

test("thread-safe calls are refused once the hub's shutdown has begun", async () => {
  const hub = hubWith(1);
  hub.data.set(SINK, () => {});
  await hub.start();
  const gate = sharedInts(1);
  const counters = sharedInts(1);
  const job = hub.addExecutorJob(callAfterGate, gate.buffer, counters.buffer, "late reading");
  await untilAtLeast(counters.view, 0, 1);
  const stopping = hub.stop();
  open(gate.view);
  expect(await job).toMatchObject({ ok: false, name: "HearthError", code: "SHUTTING_DOWN" });
  expect((await job).message).toContain("shutting down");
  expect((await stopping).clean).toBe(true);
});

test("a call that reaches the loop after shutdown began is answered with SHUTTING_DOWN", () => {
  const hub = hubWith(1);
  const posted: unknown[] = [];
  const host = new ThreadsafeHost({ hub, isClosing: () => true });
  host.handle({ postMessage: (m: unknown) => posted.push(m) } as unknown as Worker, [CALL, 7, deliverLine.moduleUrl, deliverLine.name, ["x"]]);
  const [kind, callId, status, error] = posted[0] as [number, number, number, { code: string }];
  expect([kind, callId, status]).toEqual([CALL_RESULT, 7, ERROR]);
  expect(error.code).toBe("SHUTTING_DOWN");
});

test("runCallbackThreadsafe on the loop thread is refused: call the function directly there", async () => {
  const err = await rejection(runCallbackThreadsafe(deliverLine, "x"));
  expect(isHearthError(err, "WRONG_THREAD")).toBe(true);
  expect(err.message).toContain("deliverLine");
});
