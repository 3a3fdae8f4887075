import { expect, test } from "bun:test";
import { Context } from "../../src/core/context.ts";
import { isHearthError } from "../../src/core/errors.ts";
import type { Event } from "../../src/core/event.ts";
import { Hub } from "../../src/core/hub.ts";
import { callback } from "../../src/core/job.ts";
import type { StateChangedData } from "../../src/core/state-machine.ts";

function hubRecordingChanges() {
  const hub = new Hub();
  const changes: Array<Event<"state_changed", StateChangedData>> = [];
  hub.bus.listen(
    "state_changed",
    callback((e: Event<"state_changed", StateChangedData>) => changes.push(e)),
  );
  return { hub, states: hub.states, changes };
}

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

test("entity ids must read domain.object_id", () => {
  const { states, changes } = hubRecordingChanges();
  for (const bad of ["kitchen", "light.", ".kitchen", "light.kit chen", "light..kitchen", "light.kitchen_", "_light.kitchen", "light.a__b", "light.kitchen.extra"]) {
    const err = errorOf(() => states.set(bad, "on"));
    expect(isHearthError(err, "INVALID_ENTITY_ID")).toBe(true);
    expect((err as Error).message).toContain(JSON.stringify(bad.toLowerCase()));
    expect((err as Error).message).toContain("domain.object_id");
  }
  expect(changes).toHaveLength(0);
  expect(states.all()).toHaveLength(0);
});

test("entity ids are stored in lower case", () => {
  const { states } = hubRecordingChanges();
  states.set("Sensor.Attic_Temperature", "21.5");
  expect(states.get("sensor.attic_temperature")?.state).toBe("21.5");
  expect(states.get("SENSOR.ATTIC_TEMPERATURE")?.entityId).toBe("sensor.attic_temperature");
});

test("a new entity fires state_changed with no old state", () => {
  const { states, changes } = hubRecordingChanges();
  const state = states.set("switch.relay1", "off", { friendly_name: "Relay 1" });
  expect(changes).toHaveLength(1);
  expect(changes[0]!.data).toEqual({ entityId: "switch.relay1", oldState: null, newState: state });
  expect(state.attributes).toEqual({ friendly_name: "Relay 1" });
});

test("a change fires state_changed with the old and the new state", () => {
  const { states, changes } = hubRecordingChanges();
  const off = states.set("switch.relay1", "off");
  const on = states.set("switch.relay1", "on");
  expect(changes).toHaveLength(2);
  expect(changes[1]!.data.oldState).toBe(off);
  expect(changes[1]!.data.newState).toBe(on);
  expect(states.get("switch.relay1")).toBe(on);
});

test("a new value moves last_changed and last_updated", () => {
  const { states } = hubRecordingChanges();
  states.set("sensor.temp", "20", {}, { timestamp: 1_000 });
  const later = states.set("sensor.temp", "21", {}, { timestamp: 2_000 });
  expect(later.lastChanged).toBe(2_000);
  expect(later.lastUpdated).toBe(2_000);
});

test("new attributes with the same value move last_updated but keep last_changed", () => {
  const { states, changes } = hubRecordingChanges();
  states.set("sensor.temp", "20", { quality: "good" }, { timestamp: 1_000 });
  const updated = states.set("sensor.temp", "20", { quality: "poor" }, { timestamp: 2_000 });
  expect(updated.lastChanged).toBe(1_000);
  expect(updated.lastUpdated).toBe(2_000);
  expect(changes).toHaveLength(2);
  expect(updated.toJSON().last_changed).toBe(new Date(1_000).toISOString());
});

test("setting an identical state and attributes fires nothing and keeps the stored state", () => {
  const { states, changes } = hubRecordingChanges();
  const first = states.set("sensor.temp", "20", { unit: "°C" }, { timestamp: 1_000 });
  const again = states.set("sensor.temp", "20", { unit: "°C" }, { timestamp: 2_000 });
  expect(changes).toHaveLength(1);
  expect(again).toBe(first);
  expect(again.lastUpdated).toBe(1_000);
});

test("forceUpdate fires even when nothing changed, and counts as a change (Home Assistant's force_update)", () => {
  const { states, changes } = hubRecordingChanges();
  states.set("sensor.temp", "20", {}, { timestamp: 1_000 });
  const forced = states.set("sensor.temp", "20", {}, { timestamp: 2_000, forceUpdate: true });
  expect(changes).toHaveLength(2);
  expect(forced.lastChanged).toBe(2_000);
  expect(forced.lastUpdated).toBe(2_000);
});

test("the caller's context is carried on the new state and on the event", () => {
  const { states, changes } = hubRecordingChanges();
  const context = new Context({ origin: "mqtt", userId: "node-red" });
  const state = states.set("switch.relay1", "on", {}, { context });
  expect(state.context).toBe(context);
  expect(changes[0]!.context).toBe(context);
  expect(changes[0]!.context.toJSON()).toMatchObject({ user_id: "node-red", origin: "mqtt" });
});

test("removing an entity fires state_changed with no new state", () => {
  const { states, changes } = hubRecordingChanges();
  const old = states.set("switch.relay1", "on");
  const context = new Context({ origin: "config" });
  expect(states.remove("switch.relay1", { context })).toBe(true);
  expect(states.get("switch.relay1")).toBeUndefined();
  expect(changes[1]!.data).toEqual({ entityId: "switch.relay1", oldState: old, newState: null });
  expect(changes[1]!.context).toBe(context);
});

test("removing an unknown entity returns false and fires nothing", () => {
  const { states, changes } = hubRecordingChanges();
  expect(states.remove("switch.nothing")).toBe(false);
  expect(changes).toHaveLength(0);
});

test("all() and entityIds() list every entity or those of one domain", () => {
  const { states } = hubRecordingChanges();
  states.set("sensor.temp", "20");
  states.set("switch.relay1", "on");
  states.set("sensor.humidity", "40");
  expect(states.entityIds().sort()).toEqual(["sensor.humidity", "sensor.temp", "switch.relay1"]);
  expect(states.entityIds("sensor").sort()).toEqual(["sensor.humidity", "sensor.temp"]);
  expect(states.all("switch").map((s) => s.state)).toEqual(["on"]);
  expect(states.all("light")).toEqual([]);
});

test("a state value longer than 255 characters is refused", () => {
  const { states, changes } = hubRecordingChanges();
  const err = errorOf(() => states.set("sensor.log", "x".repeat(256)));
  expect(isHearthError(err, "INVALID_STATE")).toBe(true);
  expect(changes).toHaveLength(0);
  expect(states.set("sensor.log", "x".repeat(255)).state).toHaveLength(255);
});

test("stored attributes are frozen, so a caller cannot change a state behind the bus's back", () => {
  const { states } = hubRecordingChanges();
  const attributes = { unit: "°C" };
  const state = states.set("sensor.temp", "20", attributes);
  attributes.unit = "K";
  expect(state.attributes.unit).toBe("°C");
  expect(Object.isFrozen(state.attributes)).toBe(true);
});

test("a state reads its domain and object id", () => {
  const { states } = hubRecordingChanges();
  const state = states.set("binary_sensor.door_open", "off");
  expect(state.domain).toBe("binary_sensor");
  expect(state.objectId).toBe("door_open");
});

test("a state and its state_changed event share one context and one time", async () => {
  const hub = new Hub();
  const fired = hub.bus.waitFor("state_changed");
  const state = hub.states.set("sensor.shared", "1");
  const event = await fired;
  expect(event.context).toBe(state.context);
  expect(event.timeFired).toBe(state.lastUpdated);
});
