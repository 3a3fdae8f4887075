import { expect, test } from "bun:test";
import { isHearthError } from "../../src/core/errors.ts";
import { callback, coroutine, detectJobType, Job, JobType } from "../../src/core/job.ts";
import { readProbe } from "./fixtures/probe-tasks.ts";

test("a function marked callback() is a Callback job", () => {
  const job = new Job(callback((x: number) => x * 2));
  expect(job.type).toBe(JobType.Callback);
});

test("an async function is a Coroutinefunction job", () => {
  const job = new Job(async () => {});
  expect(job.type).toBe(JobType.Coroutinefunction);
});

test("a promise-returning function marked coroutine() is a Coroutinefunction job", () => {
  const fetchState = coroutine(() => Promise.resolve("on"));
  expect(detectJobType(fetchState)).toBe(JobType.Coroutinefunction);
});

test("a registered executor task is an Executor job", () => {
  const job = new Job(readProbe);
  expect(job.type).toBe(JobType.Executor);
  expect(job.name).toBe("readProbe");
});

test("a plain synchronous function is refused with an error that says what to do", () => {
  function readSerialPort() {
    return "data";
  }
  let caught: unknown;
  try {
    new Job(readSerialPort);
  } catch (err) {
    caught = err;
  }
  expect(isHearthError(caught, "INVALID_ARGUMENT")).toBe(true);
  const message = (caught as Error).message;
  expect(message).toContain("readSerialPort");
  expect(message).toContain("callback()");
  expect(message).toContain("executorTask()");
});

test("a job is named by its function unless given a name", () => {
  async function pollMeter() {}
  expect(new Job(pollMeter).name).toBe("pollMeter");
  expect(new Job(pollMeter, { name: "poll meter 3" }).name).toBe("poll meter 3");
  expect(new Job(callback(() => {})).name).toBe("anonymous");
});

test("cancelOnShutdown is off unless asked for", () => {
  const run = async () => {};
  expect(new Job(run).cancelOnShutdown).toBe(false);
  expect(new Job(run, { cancelOnShutdown: true }).cancelOnShutdown).toBe(true);
});
