import { expect, test } from "bun:test";
import { isHearthError } from "../../src/core/errors.ts";
import { Hub } from "../../src/core/hub.ts";
import { callback, Job } from "../../src/core/job.ts";
import { Task } from "../../src/core/task.ts";
import { readProbe } from "./fixtures/probe-tasks.ts";
import { isTracked, loggedHub, nextTurn, recordingExecutor, settledWithinATurn } from "./helpers.ts";

test("runJob runs a callback at once and returns its value", () => {
  const hub = new Hub();
  const seen: number[] = [];
  const result = hub.runJob(new Job(callback((n: number) => seen.push(n) * 10)), 7);
  expect(seen).toEqual([7]);
  expect(result).toBe(10);
  expect(hub.tasks.size).toBe(0);
});

test("runJob runs a coroutine function as a tracked task named after the job", async () => {
  const hub = new Hub();
  const gate = Promise.withResolvers<void>();
  const result = hub.runJob(
    new Job(
      async (id: string) => {
        await gate.promise;
        return `polled ${id}`;
      },
      { name: "poll_meter" },
    ),
    "meter1",
  );
  expect(result).toBeInstanceOf(Task);
  const task = result as Task<string>;
  expect(task.name).toBe("poll_meter");
  expect(isTracked(hub, task)).toBe(true);
  gate.resolve();
  expect(await task).toBe("polled meter1");
});

test("runJob runs an executor task on the executor and returns a promise of its result", async () => {
  const executor = recordingExecutor();
  const hub = new Hub({ executor: () => executor });
  const result = hub.runJob(new Job(readProbe), "/sys/bus/w1/28-01");
  expect(result).toBeInstanceOf(Promise);
  expect(await result).toBe("/sys/bus/w1/28-01: 21.5");
  expect(executor.submitted).toEqual(["readProbe"]);
});

test("start() waits for the tasks set-up creates before the hub runs", async () => {
  const hub = new Hub();
  const connected = Promise.withResolvers<void>();
  hub.bus.listen(
    "hub_start",
    callback(() => {
      hub.createTask(() => connected.promise, { name: "connect_broker" });
    }),
  );
  const starting = hub.start();
  expect(await settledWithinATurn(starting)).toBe(false);
  expect(hub.state).toBe("starting");
  connected.resolve();
  await starting;
  expect(hub.state).toBe("running");
});

test("start() does not wait for background tasks", async () => {
  const hub = new Hub();
  hub.bus.listen(
    "hub_start",
    callback(() => {
      hub.createBackgroundTask(() => new Promise(() => {}), { name: "watch_ports" });
    }),
  );
  await hub.start();
  expect(hub.state).toBe("running");
});

test("start() goes on after its start timeout and names the set-up tasks it stopped waiting for", async () => {
  const { hub, logs } = loggedHub({ startTimeout: 0.05 });
  hub.bus.listen(
    "hub_start",
    callback(() => {
      hub.createTask(() => new Promise(() => {}), { name: "open_ttyUSB0" });
      hub.createTask(async () => {}, { name: "load_models" });
    }),
  );
  await hub.start();
  expect(hub.state).toBe("running");
  const lines = logs.find("Start-up went on after 0.05 s");
  expect(lines).toHaveLength(1);
  expect(lines[0]!.level).toBe("warn");
  expect(lines[0]!.tasks).toEqual(["open_ttyUSB0"]);
  expect(lines[0]!.msg).toContain("open_ttyUSB0");
});

test("hub_started fires once set-up is over", async () => {
  const hub = new Hub();
  const seen: string[] = [];
  hub.bus.listen(
    "hub_started",
    callback(() => seen.push(hub.state)),
  );
  await hub.start();
  expect(seen).toEqual(["running"]);
});

test("a hub cannot be started twice: the second start is refused with ALREADY_STARTED and hub_start is not fired again", async () => {
  const hub = new Hub();
  let starts = 0;
  hub.bus.listen(
    "hub_start",
    callback(() => starts++),
  );
  await hub.start();
  let caught: unknown;
  await hub.start().catch((err: unknown) => {
    caught = err;
  });
  expect(isHearthError(caught, "ALREADY_STARTED")).toBe(true);
  expect((caught as Error).message).toContain("running");
  expect(starts).toBe(1);
  expect(hub.state).toBe("running");
});

test("blockTillDone waits for tracked tasks and the tasks they create", async () => {
  const hub = new Hub();
  const first = Promise.withResolvers<void>();
  const second = Promise.withResolvers<void>();
  let childDone = false;
  hub.createTask(
    async () => {
      await first.promise;
      hub.createTask(
        async () => {
          await second.promise;
          childDone = true;
        },
        { name: "child" },
      );
    },
    { name: "parent" },
  );
  const blocked = hub.blockTillDone();
  expect(await settledWithinATurn(blocked)).toBe(false);
  first.resolve();
  expect(await settledWithinATurn(blocked)).toBe(false); // the child is running now
  second.resolve();
  await blocked;
  expect(childDone).toBe(true);
  expect(hub.tasks.size).toBe(0);
});

test("blockTillDone does not wait for background tasks", async () => {
  const hub = new Hub();
  const reader = hub.createBackgroundTask(() => new Promise(() => {}), { name: "serial_reader" });
  await hub.blockTillDone();
  expect(reader.done).toBe(false);
  expect(hub.backgroundTasks.has(reader)).toBe(true);
});

test("blockTillDone waits for a task created by a timer that is due", async () => {
  const hub = new Hub();
  let ran = false;
  const gate = Promise.withResolvers<void>();
  hub.createTask(async () => {
    await gate.promise;
    setImmediate(() => {
      hub.createTask(
        async () => {
          await nextTurn();
          ran = true;
        },
        { name: "scheduled" },
      );
    });
  });
  gate.resolve();
  await hub.blockTillDone();
  expect(ran).toBe(true);
});

test("a task cannot be created once the hub has stopped", async () => {
  const hub = new Hub();
  await hub.start();
  await hub.stop();
  let caught: unknown;
  try {
    hub.createTask(async () => {}, { name: "late" });
  } catch (err) {
    caught = err;
  }
  expect(isHearthError(caught, "HUB_NOT_ACCEPTING")).toBe(true);
  expect((caught as Error).message).toContain("late");
});
