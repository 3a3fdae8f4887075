import { afterEach, expect, test } from "bun:test";
import { CancelledError, HearthError, isHearthError, TimeoutError } from "../../../src/core/errors.ts";
import { reviveError, serializeError } from "../../../src/core/executor/errors.ts";
import { executorTask } from "../../../src/core/executor/registered-task.ts";
import type { Hub } from "../../../src/core/hub.ts";
import { ProbeError, readMissing } from "./fixtures/tasks.ts";
import { poolHub, rejection } from "./helpers.ts";

const hubs: Hub[] = [];
afterEach(async () => {
  await Promise.all(hubs.splice(0).map((hub) => hub.stop()));
});

function roundTrip(err: unknown) {
  return reviveError(structuredClone(serializeError(err)));
}

test("an error keeps its name, message, stack, class name and code across a serialisation", () => {
  const original = new ProbeError("probe gone");
  const back = roundTrip(original);
  expect(back.name).toBe(original.name);
  expect(back.message).toBe(original.message);
  expect(back.stack).toBe(original.stack!);
  expect(back.className).toBe("ProbeError");
  expect(back.code).toBe("PROBE_GONE");
});

test("hearth's own errors come back as their classes", () => {
  expect(roundTrip(new TimeoutError("slow"))).toBeInstanceOf(TimeoutError);
  expect(roundTrip(new CancelledError("stop"))).toBeInstanceOf(CancelledError);
  class SerialError extends HearthError<"SERIAL_OPEN_FAILED"> {
    override readonly name = "SerialError";
  }
  const back = roundTrip(new SerialError("SERIAL_OPEN_FAILED", "busy"));
  expect(isHearthError(back, "SERIAL_OPEN_FAILED")).toBe(true);
  expect(back.name).toBe("SerialError");
  expect(back.className).toBe("SerialError");
});

test("a cause travels with its error", () => {
  const back = roundTrip(new Error("read failed", { cause: new RangeError("bad length") }));
  expect(back.cause).toBeInstanceOf(RangeError);
  expect((back.cause as Error).message).toBe("bad length");
});

test("a thrown value that is not an Error becomes an Error describing it", () => {
  expect(roundTrip("timeout").message).toBe('Non-Error thrown: "timeout"');
  expect(roundTrip(42).message).toBe("Non-Error thrown: 42");
});

test("a system error from a Worker keeps its code, errno, syscall and path", async () => {
  const { hub } = poolHub(1);
  hubs.push(hub);
  const err = (await rejection(hub.addExecutorJob(readMissing, "/nonexistent/w1_slave"))) as Error & Record<string, unknown>;
  expect(err.code).toBe("ENOENT");
  expect(err.syscall).toBe("open");
  expect(err.path).toBe("/nonexistent/w1_slave");
  expect(typeof err.errno).toBe("number");
});

test("two functions registered under one module and name are refused with EXECUTOR_REGISTERED_TWICE", () => {
  const moduleUrl = new URL("./fixtures/registered-twice.ts", import.meta.url).href; // a name no Worker imports
  const first = () => 1;
  executorTask(moduleUrl, "readMeter", first);
  expect(() => executorTask(moduleUrl, "readMeter", first)).not.toThrow(); // the same function again: a module imported twice
  let caught: unknown;
  try {
    executorTask(moduleUrl, "readMeter", () => 2);
  } catch (err) {
    caught = err;
  }
  expect(isHearthError(caught, "EXECUTOR_REGISTERED_TWICE")).toBe(true);
  expect((caught as Error).message).toContain("readMeter is registered twice");
});

test("a task the Worker cannot find in its module fails with EXECUTOR_TASK_NOT_FOUND", async () => {
  const { hub } = poolHub(1);
  hubs.push(hub);
  // Registered here, on the loop thread only, under the fixtures' module: a Worker importing that module will not find it.
  const tasksModule = new URL("./fixtures/tasks.ts", import.meta.url).href;
  const ghost = executorTask(tasksModule, "ghost", () => 1);
  const err = await rejection(hub.addExecutorJob(ghost));
  expect(isHearthError(err, "EXECUTOR_TASK_NOT_FOUND")).toBe(true);
  expect(err.message).toContain('"ghost"');
  expect(await hub.addExecutorJob(readMissing, "/").catch((e: Error & { code?: string }) => e.code)).toBe("EISDIR");
});
