import { expect, test } from "bun:test";
import { Context } from "../../src/core/context.ts";
import { isHearthError } from "../../src/core/errors.ts";
import type { Event } from "../../src/core/event.ts";
import { MATCH_ALL } from "../../src/core/event-bus.ts";
import { Hub } from "../../src/core/hub.ts";
import { callback, Job } from "../../src/core/job.ts";
import { parseCapture } from "./fixtures/probe-tasks.ts";
import { loggedHub, nextTurn, recordingExecutor, settledWithinATurn, testBus } from "./helpers.ts";

test("callback listeners run synchronously, in the order they were added, before fire returns", () => {
  const hub = new Hub();
  const order: string[] = [];
  testBus(hub).listen(
    "relay_switched",
    callback(() => order.push("first")),
  );
  testBus(hub).listen(
    "relay_switched",
    callback(() => order.push("second")),
  );
  testBus(hub).listen(
    "relay_switched",
    callback(() => order.push("third")),
  );
  testBus(hub).fire("relay_switched", {});
  expect(order).toEqual(["first", "second", "third"]);
});

test("a listener receives the event's type, data and context", () => {
  const hub = new Hub();
  const context = new Context({ origin: "mqtt" });
  let received: Event | undefined;
  testBus(hub).listen(
    "relay_switched",
    callback((e: Event) => (received = e)),
  );
  testBus(hub).fire("relay_switched", { relay: 1, on: true }, { context });
  expect(received?.type).toBe("relay_switched");
  expect(received?.data).toEqual({ relay: 1, on: true });
  expect(received?.context).toBe(context);
  expect(received?.origin).toBe("local");
});

test("the hub's event map is closed: an event name it does not list is a type error (tsc checks this file)", () => {
  const hub = new Hub();
  const seen: string[] = [];
  hub.bus.listen(
    "state_changed",
    callback(() => seen.push("state_changed")),
  );
  // @ts-expect-error a misspelt state_changed is no event of the hub
  hub.bus.fire("stat_changed", { entityId: "sensor.x", oldState: null, newState: null });
  const misspelt = callback(() => seen.push("stat_changed"));
  // @ts-expect-error nor can it be listened to
  hub.bus.listen("stat_changed", misspelt);
  // @ts-expect-error an event that a module added (src/engine/events.ts) keeps the type of its data
  hub.bus.fire("device_availability", { deviceId: "meter" });
  hub.bus.fire("device_availability", { deviceId: "meter", available: true });
  expect(seen).toEqual([]);
});

test("listeners of other event types are not called", () => {
  const hub = new Hub();
  const seen: string[] = [];
  testBus(hub).listen(
    "relay_switched",
    callback(() => seen.push("relay")),
  );
  testBus(hub).fire("button_pressed", {});
  expect(seen).toEqual([]);
});

test("listen returns the function that removes the listener", () => {
  const hub = new Hub();
  let calls = 0;
  const remove = testBus(hub).listen(
    "tick",
    callback(() => calls++),
  );
  testBus(hub).fire("tick", {});
  remove();
  remove(); // harmless the second time
  testBus(hub).fire("tick", {});
  expect(calls).toBe(1);
  expect(testBus(hub).listenerCounts().tick).toBeUndefined();
});

test("listenOnce runs for the next event only", () => {
  const hub = new Hub();
  const seen: unknown[] = [];
  testBus(hub).listenOnce(
    "tick",
    callback((e: Event) => seen.push(e.data)),
  );
  testBus(hub).fire("tick", 1);
  testBus(hub).fire("tick", 2);
  expect(seen).toEqual([1]);
});

test("listenOnce runs once even when its listener fires the same event again", () => {
  const hub = new Hub();
  let calls = 0;
  testBus(hub).listenOnce(
    "tick",
    callback(() => {
      calls++;
      testBus(hub).fire("tick", {});
    }),
  );
  testBus(hub).fire("tick", {});
  expect(calls).toBe(1);
});

test("a filter runs before the listener, with the event's data, and the listener runs only when it passes", () => {
  const hub = new Hub();
  const order: string[] = [];
  testBus(hub).listen(
    "reading",
    callback((e: Event<"reading", { value: number }>) => order.push(`listener ${e.data.value}`)),
    {
      filter: (data) => {
        const { value } = data as { value: number };
        order.push(`filter ${value}`);
        return value > 10;
      },
    },
  );
  testBus(hub).fire("reading", { value: 5 });
  testBus(hub).fire("reading", { value: 20 });
  expect(order).toEqual(["filter 5", "filter 20", "listener 20"]);
});

test("a listenOnce with a filter waits for an event that passes it", () => {
  const hub = new Hub();
  const seen: unknown[] = [];
  testBus(hub).listenOnce(
    "reading",
    callback((e: Event) => seen.push(e.data)),
    { filter: (data) => data === "ok" },
  );
  testBus(hub).fire("reading", "noise");
  testBus(hub).fire("reading", "ok");
  testBus(hub).fire("reading", "ok");
  expect(seen).toEqual(["ok"]);
});

test("a MATCH_ALL listener receives every event, after the listeners of its type", () => {
  const hub = new Hub();
  const seen: string[] = [];
  testBus(hub).listen(
    MATCH_ALL,
    callback((e: Event) => seen.push(`all:${e.type}`)),
  );
  testBus(hub).listen(
    "b",
    callback(() => seen.push("b")),
  );
  testBus(hub).fire("a", {});
  testBus(hub).fire("b", {});
  expect(seen).toEqual(["all:a", "b", "all:b"]);
});

test("a coroutine listener becomes a tracked task named after the listener", async () => {
  const hub = new Hub();
  const gate = Promise.withResolvers<void>();
  const steps: string[] = [];
  testBus(hub).listen(
    "command",
    async (e: Event) => {
      steps.push(`started ${e.data}`);
      await gate.promise;
      steps.push("finished");
    },
    { name: "send_command" },
  );
  testBus(hub).fire("command", "relay1=on");
  expect(steps).toEqual(["started relay1=on"]); // eager: ran to its first await
  expect([...hub.tasks].map((t) => t.name)).toEqual(["send_command"]);
  gate.resolve();
  await hub.blockTillDone();
  expect(steps).toEqual(["started relay1=on", "finished"]);
});

test("a listener that throws is logged with its name, and the other listeners still run", () => {
  const { hub, logs } = loggedHub();
  const seen: string[] = [];
  testBus(hub).listen(
    "frame",
    callback(() => seen.push("before")),
  );
  testBus(hub).listen(
    "frame",
    callback(() => {
      throw new Error("bad checksum");
    }),
    { name: "modbus_decoder" },
  );
  testBus(hub).listen(
    "frame",
    callback(() => seen.push("after")),
  );
  expect(() => testBus(hub).fire("frame", {})).not.toThrow();
  expect(seen).toEqual(["before", "after"]);
  const lines = logs.find("modbus_decoder");
  expect(lines).toHaveLength(1);
  expect(lines[0]!.level).toBe("error");
  expect(lines[0]!.listener).toBe("modbus_decoder");
  expect(lines[0]!.event).toBe("frame");
  expect((lines[0]!.err as { message: string }).message).toBe("bad checksum");
});

test("a filter that throws is logged like a listener error and the others still run", () => {
  const { hub, logs } = loggedHub();
  let ran = false;
  testBus(hub).listen(
    "frame",
    callback(() => {}),
    {
      name: "picky",
      filter: () => {
        throw new Error("filter broke");
      },
    },
  );
  testBus(hub).listen(
    "frame",
    callback(() => (ran = true)),
  );
  testBus(hub).fire("frame", {});
  expect(ran).toBe(true);
  expect(logs.find("picky")).toHaveLength(1);
});

test("a coroutine listener that fails is logged with its name and stack", async () => {
  const { hub, logs } = loggedHub();
  testBus(hub).listen("frame", async function storeFrame() {
    await nextTurn();
    throw new Error("disk full");
  });
  testBus(hub).fire("frame", {});
  await hub.blockTillDone();
  await nextTurn();
  const lines = logs.find("storeFrame");
  expect(lines).toHaveLength(1);
  expect((lines[0]!.err as { stack: string }).stack).toContain("disk full");
});

test("a plain synchronous listener is refused when it is added, not when an event fires", () => {
  const hub = new Hub();
  let caught: unknown;
  try {
    testBus(hub).listen("frame", function decode() {});
  } catch (err) {
    caught = err;
  }
  expect(isHearthError(caught, "INVALID_ARGUMENT")).toBe(true);
  expect((caught as Error).message).toContain("decode");
});

test("a listener added by another listener during a fire first hears the next event", () => {
  const hub = new Hub();
  const seen: string[] = [];
  testBus(hub).listen(
    "tick",
    callback((e: Event) => {
      seen.push(`outer ${e.data}`);
      if (e.data === 1)
        testBus(hub).listen(
          "tick",
          callback((e2: Event) => seen.push(`inner ${e2.data}`)),
        );
    }),
  );
  testBus(hub).fire("tick", 1);
  testBus(hub).fire("tick", 2);
  expect(seen).toEqual(["outer 1", "outer 2", "inner 2"]);
});

test("a listener removed by an earlier listener of the same fire does not run", () => {
  const hub = new Hub();
  const seen: string[] = [];
  let removeSecond = () => {};
  testBus(hub).listen(
    "tick",
    callback(() => {
      seen.push("first");
      removeSecond();
    }),
  );
  removeSecond = testBus(hub).listen(
    "tick",
    callback(() => seen.push("second")),
  );
  testBus(hub).fire("tick", {});
  expect(seen).toEqual(["first"]);
});

test("a Job can be passed to listen, keeping its name", () => {
  const { hub, logs } = loggedHub();
  testBus(hub).listen(
    "tick",
    new Job(
      callback(() => {
        throw new Error("nope");
      }),
      { name: "named_job" },
    ),
  );
  testBus(hub).fire("tick", {});
  expect(logs.find("named_job")).toHaveLength(1);
});

test("waitFor resolves with the next event that passes its filter", async () => {
  const hub = new Hub();
  const waiting = testBus(hub).waitFor("reading", (data) => data === "ready");
  testBus(hub).fire("reading", "warming up");
  expect(await settledWithinATurn(waiting)).toBe(false);
  testBus(hub).fire("reading", "ready");
  expect((await waiting).data).toBe("ready");
  expect(testBus(hub).listenerCounts().reading).toBeUndefined();
});

test("waitFor rejects and stops listening when its signal fires", async () => {
  const hub = new Hub();
  const controller = new AbortController();
  const waiting = testBus(hub).waitFor("reading", undefined, controller.signal);
  controller.abort(new Error("gave up"));
  await expect(waiting).rejects.toThrow("gave up");
  expect(testBus(hub).listenerCounts().reading).toBeUndefined();
});

test("an executor listener runs on the executor, and its failure is logged with its name", async () => {
  const executor = recordingExecutor();
  const { hub, logs } = loggedHub({ executor: () => executor });
  testBus(hub).listen("capture_saved", parseCapture);
  testBus(hub).fire("capture_saved", "/tmp/capture.bin");
  expect(executor.submitted).toEqual(["parseCapture"]);
  await nextTurn();
  const lines = logs.find("parseCapture");
  expect(lines).toHaveLength(1);
  expect(lines[0]!.level).toBe("error");
  expect((lines[0]!.err as { message: string }).message).toBe("/tmp/capture.bin: truncated capture");
});
