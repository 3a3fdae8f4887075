import { expect, test } from "bun:test";
import type { Event } from "../../src/core/event.ts";
import { Hub } from "../../src/core/hub.ts";
import type { StateChangedData } from "../../src/core/state-machine.ts";
import { trackStateChange, trackStateChangeEvent } from "../../src/core/track-state.ts";
import { loggedHub } from "./helpers.ts";

type StateChanged = Event<"state_changed", StateChangedData>;

test("trackStateChangeEvent calls its action for changes of the tracked entities only", () => {
  const hub = new Hub();
  const seen: string[] = [];
  trackStateChangeEvent(hub.bus, ["sensor.temp", "switch.relay1"], (e: StateChanged) => seen.push(`${e.data.entityId}=${e.data.newState?.state}`));
  hub.states.set("sensor.temp", "20");
  hub.states.set("sensor.humidity", "40");
  hub.states.set("switch.relay1", "on");
  expect(seen).toEqual(["sensor.temp=20", "switch.relay1=on"]);
});

test("trackStateChangeEvent runs its action synchronously, before set returns", () => {
  const hub = new Hub();
  let calls = 0;
  trackStateChangeEvent(hub.bus, "sensor.temp", () => calls++);
  hub.states.set("sensor.temp", "20");
  expect(calls).toBe(1);
});

test("tracked entity ids match whatever their case", () => {
  const hub = new Hub();
  let calls = 0;
  trackStateChangeEvent(hub.bus, "Sensor.Temp", () => calls++);
  hub.states.set("sensor.temp", "20");
  expect(calls).toBe(1);
});

test("many trackers share one bus listener, and the last one removed takes it away", () => {
  const hub = new Hub();
  const removers = Array.from({ length: 50 }, (_, i) => trackStateChangeEvent(hub.bus, `sensor.s${i}`, () => {}));
  expect(hub.bus.listenerCounts().state_changed).toBe(1);
  for (const remove of removers) remove();
  expect(hub.bus.listenerCounts().state_changed).toBeUndefined();
});

test("removing one tracker leaves the others of the same entity running, and removing twice is harmless", () => {
  const hub = new Hub();
  const seen: string[] = [];
  const removeA = trackStateChangeEvent(hub.bus, "sensor.temp", () => seen.push("a"));
  trackStateChangeEvent(hub.bus, "sensor.temp", () => seen.push("b"));
  removeA();
  removeA();
  hub.states.set("sensor.temp", "20");
  expect(seen).toEqual(["b"]);
});

test("a tracker that throws is logged and the other trackers of the entity still run", () => {
  const { hub, logs } = loggedHub();
  const seen: string[] = [];
  trackStateChangeEvent(hub.bus, "sensor.temp", () => {
    throw new Error("display unplugged");
  });
  trackStateChangeEvent(hub.bus, "sensor.temp", () => seen.push("logger"));
  hub.states.set("sensor.temp", "20");
  expect(seen).toEqual(["logger"]);
  const lines = logs.find("trackStateChangeEvent");
  expect(lines).toHaveLength(1);
  expect((lines[0]!.err as { message: string }).message).toBe("display unplugged");
});

test("trackStateChange calls its action with the entity and its old and new states", () => {
  const hub = new Hub();
  const seen: Array<[string, string | undefined, string | undefined]> = [];
  trackStateChange(hub.bus, "switch.relay1", (id, oldState, newState) => seen.push([id, oldState?.state, newState?.state]));
  hub.states.set("switch.relay1", "off");
  hub.states.set("switch.relay1", "on");
  hub.states.remove("switch.relay1");
  expect(seen).toEqual([
    ["switch.relay1", undefined, "off"],
    ["switch.relay1", "off", "on"],
    ["switch.relay1", "on", undefined],
  ]);
});

test("trackStateChange calls its action only for changes matching from and to", () => {
  const hub = new Hub();
  const seen: string[] = [];
  trackStateChange(hub.bus, "binary_sensor.door", (_id, o, n) => seen.push(`${o?.state}->${n?.state}`), { from: "off", to: "on" });
  hub.states.set("binary_sensor.door", "off");
  hub.states.set("binary_sensor.door", "on");
  hub.states.set("binary_sensor.door", "off");
  hub.states.set("binary_sensor.door", "unavailable");
  hub.states.set("binary_sensor.door", "on");
  expect(seen).toEqual(["off->on"]);
});

test("trackStateChange matches a list of states or a predicate", () => {
  const hub = new Hub();
  const seen: string[] = [];
  trackStateChange(hub.bus, "sensor.temp", (_id, _o, n) => seen.push(n!.state), {
    from: ["unknown", "unavailable"],
    to: (state) => state !== undefined && Number(state) > 0,
  });
  hub.states.set("sensor.temp", "unknown");
  hub.states.set("sensor.temp", "21");
  hub.states.set("sensor.temp", "unavailable");
  hub.states.set("sensor.temp", "-3");
  hub.states.set("sensor.temp", "unavailable");
  hub.states.set("sensor.temp", "22");
  expect(seen).toEqual(["21", "22"]);
});

test("trackers of different hubs do not hear each other", () => {
  const a = new Hub();
  const b = new Hub();
  const seen: string[] = [];
  trackStateChangeEvent(a.bus, "sensor.temp", () => seen.push("a"));
  trackStateChangeEvent(b.bus, "sensor.temp", () => seen.push("b"));
  b.states.set("sensor.temp", "20");
  expect(seen).toEqual(["b"]);
});

test("when several trackers of an entity fail, all of them are reported", () => {
  const { hub, logs } = loggedHub();
  for (const message of ["first broke", "second broke"]) {
    trackStateChangeEvent(hub.bus, "sensor.temp", () => {
      throw new Error(message);
    });
  }
  hub.states.set("sensor.temp", "20");
  const err = logs.find("trackStateChangeEvent")[0]!.err as { message: string; errors?: Array<{ message: string }> };
  expect(err.message).toBe("2 trackers of sensor.temp failed");
});
