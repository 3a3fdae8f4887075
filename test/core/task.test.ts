import { expect, test } from "bun:test";
import { CancelledError } from "../../src/core/errors.ts";
import { Hub } from "../../src/core/hub.ts";
import { callback, Job } from "../../src/core/job.ts";
import { sleep } from "../../src/core/wait.ts";
import { failureOf, isTracked, loggedHub, nextTurn } from "./helpers.ts";

test("an eager task that never awaits has finished when createTask returns", () => {
  const hub = new Hub();
  const task = hub.createTask(async () => 42, { name: "compute" });
  expect(task.done).toBe(true);
  expect(task.status).toBe("done");
  expect(task.result).toBe(42);
  expect(hub.tasks.size).toBe(0);
});

test("an eager task that awaits runs up to its first await, then finishes later", async () => {
  const hub = new Hub();
  const steps: string[] = [];
  const gate = Promise.withResolvers<void>();
  const task = hub.createTask(
    async () => {
      steps.push("before await");
      await gate.promise;
      steps.push("after await");
      return "read";
    },
    { name: "read_meter" },
  );
  expect(steps).toEqual(["before await"]);
  expect(task.done).toBe(false);
  expect(isTracked(hub, task)).toBe(true);
  gate.resolve();
  expect(await task).toBe("read");
  expect(steps).toEqual(["before await", "after await"]);
  expect(isTracked(hub, task)).toBe(false);
});

test("a task with eagerStart: false does not start until the caller yields a turn", async () => {
  const hub = new Hub();
  let started = false;
  const task = hub.createTask(
    async () => {
      started = true;
    },
    { name: "lazy", eagerStart: false },
  );
  expect(started).toBe(false);
  expect(task.done).toBe(false);
  await task;
  expect(started).toBe(true);
  expect(task.status).toBe("done");
});

test("a task with eagerStart: false that is cancelled before its turn never runs", async () => {
  const hub = new Hub();
  let started = false;
  const task = hub.createTask(
    async () => {
      started = true;
    },
    { name: "lazy", eagerStart: false },
  );
  task.cancel();
  await task.settled().catch(() => {});
  expect(started).toBe(false);
  expect(task.status).toBe("cancelled");
  expect(isTracked(hub, task)).toBe(false);
});

test("a callback job runs at once, before tasks already scheduled", async () => {
  const hub = new Hub();
  const order: string[] = [];
  hub.createTask(
    async () => {
      order.push("scheduled task");
    },
    { eagerStart: false },
  );
  const result = hub.runJob(new Job(callback(() => order.push("callback"))));
  expect(result).toBe(1); // its return value, synchronously
  expect(order).toEqual(["callback"]);
  await hub.blockTillDone();
  expect(order).toEqual(["callback", "scheduled task"]);
});

test("a task can be given a promise already under way", async () => {
  const hub = new Hub();
  const task = hub.createTask(Promise.resolve("ready"), { name: "handshake" });
  expect(task.name).toBe("handshake");
  expect(await task).toBe("ready");
});

test("a task is named by its function when no name is given", () => {
  const hub = new Hub();
  async function refreshDevices() {
    await new Promise(() => {});
  }
  expect(hub.createTask(refreshDevices).name).toBe("refreshDevices");
});

test("cancelling a task fires its signal, and work that honours it ends the task as cancelled", async () => {
  const hub = new Hub();
  const task = hub.createTask((signal) => sleep(60_000, signal), { name: "poll" });
  expect(task.cancel("no longer needed")).toBe(true);
  expect(task.signal.aborted).toBe(true);
  await expect(task.settled()).rejects.toBeInstanceOf(CancelledError);
  expect(task.status).toBe("cancelled");
  expect(task.cancel()).toBe(false); // already over
});

test("a task whose work fails is failed, not cancelled", async () => {
  const hub = new Hub();
  const task = hub.createTask(async () => {
    await nextTurn();
    throw new Error("checksum mismatch");
  });
  expect((await failureOf(task)).message).toBe("checksum mismatch");
  expect(task.status).toBe("failed");
});

test("a failed task nobody awaits is logged with its name and stack", async () => {
  const { hub, logs } = loggedHub();
  function failToParse(): never {
    throw new Error("frame too short");
  }
  const task = hub.createTask(
    async () => {
      await nextTurn();
      failToParse();
    },
    { name: "parse_frame" },
  );
  await task.settled().catch(() => {}); // settled() does not count as awaiting the task
  await nextTurn();
  const lines = logs.find("parse_frame");
  expect(lines).toHaveLength(1);
  expect(lines[0]!.level).toBe("error");
  expect(lines[0]!.task).toBe("parse_frame");
  const err = lines[0]!.err as { message: string; stack: string };
  expect(err.message).toBe("frame too short");
  expect(err.stack).toContain("failToParse");
});

test("a failed task that is awaited is left to its awaiter and not logged", async () => {
  const { hub, logs } = loggedHub();
  const task = hub.createTask(
    async () => {
      await nextTurn();
      throw new Error("no reply");
    },
    { name: "query_device" },
  );
  expect((await failureOf(task)).message).toBe("no reply");
  await nextTurn();
  await nextTurn();
  expect(logs.find("query_device")).toHaveLength(0);
});

test("a task that fails before its first await is logged too", async () => {
  const { hub, logs } = loggedHub();
  const task = hub.createTask(
    async () => {
      throw new Error("bad config");
    },
    { name: "setup_link" },
  );
  expect(task.status).toBe("failed");
  await nextTurn();
  expect(logs.find("setup_link")).toHaveLength(1);
});

test("a cancelled task is not logged as a failure", async () => {
  const { hub, logs } = loggedHub();
  const task = hub.createTask((signal) => sleep(60_000, signal), { name: "wait_for_reply" });
  task.cancel();
  await task.settled().catch(() => {});
  await nextTurn();
  expect(logs.find("wait_for_reply")).toHaveLength(0);
});
