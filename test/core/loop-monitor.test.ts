import { afterEach, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { allowBlockingCalls } from "../../src/core/blocking-calls.ts";
import { isHearthError } from "../../src/core/errors.ts";
import { Hub } from "../../src/core/hub.ts";
import { callback, Job } from "../../src/core/job.ts";
import { createLogger, MemoryLogDestination } from "../../src/core/logger.ts";
import { LoopMonitor } from "../../src/core/loop-monitor.ts";
import { testBus } from "./helpers.ts";

const monitors: LoopMonitor[] = [];

async function runningHub(options: { blockingCalls?: "off" | "warn" | "raise"; slowThresholdMs?: number } = {}) {
  const logs = new MemoryLogDestination();
  const hub = new Hub({ log: createLogger({ level: "debug", destination: logs }) });
  const monitor = new LoopMonitor({ hub, slowThresholdMs: options.slowThresholdMs ?? 100, blockingCalls: options.blockingCalls ?? "warn" });
  monitors.push(monitor);
  await monitor.start();
  return { hub, monitor, logs };
}

/** Resolves once the monitor has ticked after the loop was held (it logs on that tick). */
function nextTicks(monitor: LoopMonitor, n = 3): Promise<void> {
  return new Promise((resolve) => {
    let left = n;
    const t = setInterval(() => {
      if (--left === 0) {
        clearInterval(t);
        resolve();
      }
    }, monitor.tickMs);
  });
}

afterEach(async () => {
  for (const m of monitors.splice(0)) await m.stop();
});

test("a callback that holds the loop past the threshold is logged with its name and duration", async () => {
  const { hub, monitor, logs } = await runningHub({ slowThresholdMs: 100, blockingCalls: "off" });
  await hub.start();
  await nextTicks(monitor, 2); // the watchdog is up and the heartbeat flows
  testBus(hub).listen(
    "slow_event",
    callback(() => {
      const until = Date.now() + 400;
      while (Date.now() < until) {} // holds the loop without a blocking call
    }),
    { name: "crunch_numbers" },
  );
  testBus(hub).fire("slow_event", {});
  await nextTicks(monitor);
  const line = logs.find("held the event loop")[0];
  expect(line?.msg).toContain("crunch_numbers");
  expect(line?.job).toBe("crunch_numbers");
  expect(line?.heldMs as number).toBeGreaterThanOrEqual(300);
  expect(monitor.stats().maxLagMs).toBeGreaterThanOrEqual(300);
  expect(monitor.stats().blocked).toBeGreaterThanOrEqual(1);
});

test("the first step of a task that holds the loop is named by the task", async () => {
  const { hub, monitor, logs } = await runningHub({ slowThresholdMs: 100, blockingCalls: "off" });
  await hub.start();
  await nextTicks(monitor, 2);
  hub.createTask(
    async () => {
      const until = Date.now() + 300;
      while (Date.now() < until) {}
    },
    { name: "parse_capture" },
  );
  await nextTicks(monitor);
  expect(logs.find("held the event loop")[0]?.job).toBe("parse_capture");
});

test("a short callback is not reported", async () => {
  const { hub, monitor, logs } = await runningHub({ slowThresholdMs: 100, blockingCalls: "off" });
  await hub.start();
  hub.runJob(
    new Job(
      callback(() => 1 + 1),
      { name: "quick" },
    ),
  );
  await nextTicks(monitor, 4);
  expect(logs.find("quick")).toHaveLength(0);
});

test("a blocking call on the loop while the hub runs is reported with the caller's stack", async () => {
  const { hub, logs } = await runningHub({ blockingCalls: "warn" });
  await hub.start();
  function loadCalibration() {
    // Not a tail call (JavaScriptCore drops the frame of a strict-mode tail call, and Bun's transpiler
    // turns `const x = f(); return x` into one).
    const fields = readFileSync("/proc/self/stat", "utf8").split(" ");
    return fields.length;
  }
  loadCalibration();
  const line = logs.find("Detected blocking call to readFileSync inside the event loop")[0];
  expect(line).toBeDefined();
  expect(line?.stack as string).toContain("loadCalibration");
  expect(line?.caller as string).toContain("loop-monitor.test.ts");
});

test("in raise mode a blocking call on the loop throws", async () => {
  const { hub } = await runningHub({ blockingCalls: "raise" });
  await hub.start();
  let caught: unknown;
  try {
    Bun.sleepSync(1);
  } catch (err) {
    caught = err;
  }
  expect(isHearthError(caught, "BLOCKING_CALL")).toBe(true);
  expect((caught as Error).message).toContain("Bun.sleepSync");
  // allowBlockingCalls marks a deliberate one
  expect(allowBlockingCalls(() => readFileSync("/proc/self/stat", "utf8")).length).toBeGreaterThan(0);
});

test("blocking calls made before the hub runs, and after it closes, are not reported", async () => {
  const { hub, logs } = await runningHub({ blockingCalls: "raise" });
  readFileSync("/proc/self/stat"); // start-up: not running yet
  await hub.start();
  await hub.stop();
  readFileSync("/proc/self/stat");
  expect(logs.find("Detected blocking call")).toHaveLength(0);
});

test("blocking calls inside a Worker are not reported", async () => {
  const { hub, logs } = await runningHub({ blockingCalls: "raise" });
  await hub.start();
  const worker = new Worker(new URL("./fixtures/blocking-in-worker.ts", import.meta.url));
  const reply = await new Promise<string>((resolve) => {
    worker.onmessage = (e) => resolve(e.data as string);
  });
  worker.terminate();
  expect(reply).toBe("read ok");
  expect(logs.find("Detected blocking call")).toHaveLength(0);
});

test("a hold during start-up is measured but not reported", async () => {
  const { monitor, logs } = await runningHub({ slowThresholdMs: 100, blockingCalls: "off" });
  await nextTicks(monitor, 2);
  const until = Date.now() + 300;
  while (Date.now() < until) {} // the hub is not running yet: loading, opening ports
  await nextTicks(monitor);
  expect(monitor.stats().maxLagMs).toBeGreaterThanOrEqual(200);
  expect(logs.find("held")).toHaveLength(0);
});

test("a hold that begins during start-up and ends once the hub runs is start-up's, not reported", async () => {
  const { hub, monitor, logs } = await runningHub({ slowThresholdMs: 100, blockingCalls: "off" });
  await nextTicks(monitor, 2);
  const started = hub.start();
  const until = Date.now() + 300;
  while (Date.now() < until) {} // set-up work, and the hub starts running before the loop is free again
  await started;
  expect(hub.state).toBe("running");
  await nextTicks(monitor);
  expect(monitor.stats().maxLagMs).toBeGreaterThanOrEqual(200);
  expect(logs.find("held")).toHaveLength(0);
  // A hold once running is still news.
  const again = Date.now() + 300;
  while (Date.now() < again) {}
  await nextTicks(monitor);
  expect(logs.find("held")).toHaveLength(1);
});

test("starting the monitor twice watches the loop once: one listener per hub event, one report per hold", async () => {
  const { hub, monitor, logs } = await runningHub({ slowThresholdMs: 100, blockingCalls: "off" });
  await monitor.start();
  expect(hub.bus.listenerCounts().hub_started).toBe(1);
  expect(hub.bus.listenerCounts().hub_close).toBe(1);
  await hub.start();
  await nextTicks(monitor, 2);
  const until = Date.now() + 300;
  while (Date.now() < until) {} // holds the loop without a blocking call
  await nextTicks(monitor);
  expect(logs.find("held")).toHaveLength(1);
});
