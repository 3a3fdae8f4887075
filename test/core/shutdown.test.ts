import { expect, test } from "bun:test";
import { isCancelledError } from "../../src/core/errors.ts";
import { Hub, type HubState } from "../../src/core/hub.ts";
import { callback, Job } from "../../src/core/job.ts";
import { settleWithin } from "../../src/core/shutdown.ts";
import type { Task } from "../../src/core/task.ts";
import { sleep } from "../../src/core/wait.ts";
import { loggedHub, settledWithinATurn } from "./helpers.ts";

/** Stage timeouts short enough for work that never finishes; nothing here waits on them unless something is stuck. */
const SHORT = { shutdownJobs: 0.05, cancel: 0.05, tracked: 0.05, finalWrite: 0.05, close: 0.05 };

/** Work that ignores cancellation and never ends. */
const stubborn = () => new Promise<never>(() => {});

test("the hub moves through not_running, starting, running, stopping, final_write and stopped", async () => {
  const hub = new Hub();
  const seen: HubState[] = [hub.state];
  for (const event of ["hub_start", "hub_started", "hub_stop", "hub_final_write", "hub_close"] as const) {
    hub.bus.listen(
      event,
      callback(() => seen.push(hub.state)),
    );
  }
  await hub.start();
  const result = await hub.stop();
  seen.push(hub.state);
  expect(seen).toEqual(["not_running", "starting", "running", "stopping", "final_write", "final_write", "stopped"]);
  expect(result).toEqual({ clean: true, abandoned: [] });
});

test("shutdown jobs run in the first stage of shutdown", async () => {
  const hub = new Hub();
  const order: string[] = [];
  hub.addShutdownJob(callback(() => order.push(`callback while ${hub.state}`)));
  hub.addShutdownJob(
    new Job(
      async () => {
        await sleep(0);
        order.push("async job done");
      },
      { name: "close_broker" },
    ),
  );
  hub.bus.listen(
    "hub_final_write",
    callback(() => order.push("final write")),
  );
  await hub.start();
  const result = await hub.stop();
  expect(order).toEqual(["callback while stopping", "async job done", "final write"]);
  expect(result.clean).toBe(true);
});

test("a shutdown job can be unregistered", async () => {
  const hub = new Hub();
  let ran = false;
  const remove = hub.addShutdownJob(callback(() => (ran = true)));
  remove();
  await hub.stop();
  expect(ran).toBe(false);
});

test("a failing shutdown job is logged with its name and does not stop the others", async () => {
  const { hub, logs } = loggedHub();
  let laterRan = false;
  hub.addShutdownJob(
    new Job(
      callback(() => {
        throw new Error("flush failed");
      }),
      { name: "flush_outbox" },
    ),
  );
  hub.addShutdownJob(
    new Job(
      async () => {
        throw new Error("socket gone");
      },
      { name: "say_goodbye" },
    ),
  );
  hub.addShutdownJob(callback(() => (laterRan = true)));
  await hub.stop();
  expect(laterRan).toBe(true);
  expect(logs.find("Shutdown job flush_outbox failed")).toHaveLength(1);
  expect(logs.find("Shutdown job say_goodbye failed")).toHaveLength(1);
});

test("a background task is cancelled at shutdown: its signal fires and it ends", async () => {
  const hub = new Hub();
  const reader = hub.createBackgroundTask((signal) => sleep(3_600_000, signal), { name: "serial_reader" });
  await hub.start();
  const result = await hub.stop();
  expect(reader.signal.aborted).toBe(true);
  expect(reader.status).toBe("cancelled");
  expect(isCancelledError(reader.error)).toBe(true);
  expect(result.clean).toBe(true);
});

test("a tracked task is waited for at shutdown, not cancelled", async () => {
  const hub = new Hub();
  await hub.start();
  const gate = Promise.withResolvers<void>();
  const write = hub.createTask(
    async () => {
      await gate.promise;
      return "written";
    },
    { name: "write_calibration" },
  );
  const stopping = hub.stop();
  expect(await settledWithinATurn(stopping)).toBe(false);
  expect(write.signal.aborted).toBe(false);
  gate.resolve();
  const result = await stopping;
  expect(write.status).toBe("done");
  expect(result.clean).toBe(true);
});

test("a tracked task created with cancelOnShutdown is cancelled at shutdown", async () => {
  const hub = new Hub();
  const poll = hub.createTask((signal) => sleep(3_600_000, signal), { name: "poll_loop", cancelOnShutdown: true });
  const result = await hub.stop();
  expect(poll.status).toBe("cancelled");
  expect(result.clean).toBe(true);
});

test("a coroutine job with cancelOnShutdown is cancelled at shutdown", async () => {
  const hub = new Hub();
  const job = new Job(
    async (meter: string) => {
      await new Promise(() => {}); // waiting on a meter that never answers
      return meter;
    },
    { name: "poll_meter", cancelOnShutdown: true },
  );
  const task = hub.runJob(job, "meter1") as Task<string>;
  const result = await hub.stop();
  expect(task.status).toBe("cancelled");
  expect(result).toEqual({ clean: true, abandoned: [] });
});

test("a background task that ignores cancellation is abandoned after its stage timeout and named in the log", async () => {
  const { hub, logs } = loggedHub({ stageTimeouts: SHORT });
  const task = hub.createBackgroundTask(stubborn, { name: "stubborn_reader" });
  const result = await hub.stop();
  expect(task.signal.aborted).toBe(true);
  expect(task.done).toBe(false);
  expect(result.clean).toBe(false);
  expect(result.abandoned).toEqual(["cancel: stubborn_reader"]);
  const lines = logs.find("abandoned stubborn_reader");
  expect(lines).toHaveLength(1);
  expect(lines[0]!.level).toBe("warn");
  expect(lines[0]!.task).toBe("stubborn_reader");
  expect(logs.lines.at(-1)!.msg).toBe("Stopped, abandoning 1: cancel: stubborn_reader");
  expect(hub.state).toBe("stopped");
});

test("a tracked task that never finishes is cancelled, abandoned and named once", async () => {
  const { hub, logs } = loggedHub({ stageTimeouts: SHORT });
  const task = hub.createTask(stubborn, { name: "endless_upload" });
  const result = await hub.stop();
  expect(task.signal.aborted).toBe(true);
  expect(result.abandoned).toEqual(["tracked tasks: endless_upload"]);
  expect(logs.find("abandoned endless_upload")).toHaveLength(1);
  expect(hub.state).toBe("stopped");
});

test("a cancelOnShutdown task that ignores cancellation is named once", async () => {
  const { hub, logs } = loggedHub({ stageTimeouts: SHORT });
  hub.createTask(stubborn, { name: "deaf_poller", cancelOnShutdown: true });
  const result = await hub.stop();
  expect(result.abandoned).toEqual(["cancel: deaf_poller"]);
  expect(logs.find("abandoned deaf_poller")).toHaveLength(1);
});

test("a shutdown job that never finishes is abandoned after its stage timeout and named once", async () => {
  const { hub, logs } = loggedHub({ stageTimeouts: SHORT });
  hub.addShutdownJob(new Job(async () => stubborn(), { name: "hung_goodbye" }));
  const result = await hub.stop();
  expect(result.abandoned).toEqual(["shutdown jobs: hung_goodbye"]);
  expect(logs.find("abandoned hung_goodbye")).toHaveLength(1);
});

test("final writes made by hub_final_write listeners are waited for", async () => {
  const hub = new Hub();
  let saved = false;
  hub.bus.listen("hub_final_write", async function saveStates() {
    await sleep(0);
    saved = true;
  });
  const result = await hub.stop();
  expect(saved).toBe(true);
  expect(result.clean).toBe(true);
});

test("a background task started during shutdown is told to stop at once", async () => {
  const hub = new Hub();
  let late: Task<void> | undefined;
  hub.addShutdownJob(
    callback(() => {
      late = hub.createBackgroundTask((signal) => sleep(3_600_000, signal), { name: "late_reader" });
    }),
  );
  await hub.stop();
  expect(late?.signal.aborted).toBe(true);
  expect(late?.status).toBe("cancelled");
});

test("stop() is safe to call twice: the second call gets the same outcome and nothing runs again", async () => {
  const hub = new Hub();
  let runs = 0;
  hub.addShutdownJob(callback(() => runs++));
  const first = hub.stop();
  const second = hub.stop();
  expect(second).toBe(first);
  await first;
  expect(await hub.stop()).toEqual(await first);
  expect(runs).toBe(1);
});

test("a hub stopped while starting does not go on to run", async () => {
  const hub = new Hub();
  const gate = Promise.withResolvers<void>();
  hub.bus.listen(
    "hub_start",
    callback(() => {
      hub.createTask(() => gate.promise, { name: "slow_setup" });
    }),
  );
  const starting = hub.start();
  const stopping = hub.stop();
  gate.resolve();
  await Promise.all([starting, stopping]);
  expect(hub.state).toBe("stopped");
});

test("settleWithin names the promises still pending when its time is up", async () => {
  expect(await settleWithin([Promise.resolve(1), new Promise(() => {}), Promise.reject(new Error("x"))], 20)).toEqual([1]);
  expect(await settleWithin([], 20)).toEqual([]);
});
