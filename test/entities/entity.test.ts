import { expect, test } from "bun:test";
import { EntityDescriptionSchema } from "../../src/config/entity-description.ts";
import { Entity, type EntityState, isRejected, type RawValue } from "../../src/entities/entity.ts";

const make = (d: Record<string, unknown>) => new Entity({ description: EntityDescriptionSchema.parse(d), nodeId: "attic", deviceId: "Board-1" });

/** The state a reading gives; fails the test when the entity rejects it. */
function stateOf(entity: Entity, raw: RawValue): EntityState {
  const result = entity.toState(raw);
  if (isRejected(result)) throw new Error(`${entity.key} rejected ${JSON.stringify(raw)}: ${result.rejected}`);
  return result;
}

/** Why the entity rejects a reading, or undefined when it takes it. */
function rejection(entity: Entity, raw: RawValue): string | undefined {
  const result = entity.toState(raw);
  return isRejected(result) ? result.rejected : undefined;
}

test("an entity's ids follow <kind>.<device>_<key> and <node>_<device>_<key>", () => {
  const e = make({ key: "relay1", kind: "switch", name: "Relay 1" });
  expect(e.entityId).toBe("switch.board_1_relay1");
  expect(e.uniqueId).toBe("attic_Board-1_relay1");
  expect(e.name).toBe("Relay 1");
  expect(make({ key: "water_level", kind: "sensor" }).name).toBe("Water level");
});

test("a numeric sensor keeps its precision and carries its unit and classes", () => {
  const s = make({ key: "temperature", kind: "sensor", unit: "°C", device_class: "temperature", state_class: "measurement", precision: 1 });
  expect(stateOf(s, "21.54")).toMatchObject({ state: "21.5", value: 21.5 });
  expect(stateOf(s, "21.54").attributes).toMatchObject({ unit_of_measurement: "°C", device_class: "temperature", state_class: "measurement" });
});

test("no reading is unknown; a reading that does not fit is rejected, never a wrong value", () => {
  const s = make({ key: "temperature", kind: "sensor" });
  expect(stateOf(s, "nan").state).toBe("unknown");
  expect(stateOf(s, Number.NaN).state).toBe("unknown");
  expect(stateOf(s, null).state).toBe("unknown");
  expect(rejection(s, "")).toBe("not a number");
  expect(rejection(s, "abc")).toBe("not a number");
  expect(rejection(s, "Infinity")).toBe("not a number");
  expect(rejection(make({ key: "relay", kind: "switch" }), "2")).toBe("expected 1/0, on/off or true/false");
  expect(rejection(make({ key: "fix", kind: "sensor", numeric: false }), "x".repeat(300))).toBe("longer than 255 characters");
});

test("a reading outside the model's range is rejected, and its edges are taken", () => {
  const s = make({ key: "humidity", kind: "sensor", min: 0, max: 100 });
  expect(rejection(s, "-0.1")).toBe("below the model's minimum of 0");
  expect(rejection(s, 100.5)).toBe("above the model's maximum of 100");
  expect(stateOf(s, "0").state).toBe("0");
  expect(stateOf(s, "100").state).toBe("100");
  expect(rejection(make({ key: "uptime", kind: "sensor", min: 0 }), "-5")).toBe("below the model's minimum of 0");
  expect(rejection(make({ key: "setpoint", kind: "number", min: 5, max: 30 }), 31)).toBe("above the model's maximum of 30");
});

test("a range whose minimum is above its maximum is refused in the model", () => {
  const parsed = EntityDescriptionSchema.safeParse({ key: "t", kind: "sensor", min: 10, max: 0 });
  expect(parsed.success).toBe(false);
  expect(parsed.error?.issues[0]).toMatchObject({ path: ["max"], message: "expected at least min (10)" });
});

test("switches and binary sensors read 1/0, on/off and booleans", () => {
  const sw = make({ key: "relay", kind: "switch" });
  expect(stateOf(sw, "1")).toMatchObject({ state: "on", value: "ON" });
  expect(stateOf(sw, false)).toMatchObject({ state: "off", value: "OFF" });
  expect(stateOf(make({ key: "door", kind: "binary_sensor" }), "on").state).toBe("on");
});

test("a light's raw brightness is scaled to 0-255; one beyond its scale is rejected, not made full", () => {
  const led = make({ key: "led", kind: "light", brightness_scale: 100 });
  expect(stateOf(led, "50")).toMatchObject({ state: "on", attributes: { brightness: 128 } });
  expect(stateOf(led, "0").state).toBe("off");
  expect(stateOf(led, "100").attributes.brightness).toBe(255);
  expect(rejection(led, "101")).toBe("brightness outside 0–100");
  expect(rejection(led, "-5")).toBe("brightness outside 0–100");
  expect(rejection(led, "999999")).toBe("brightness outside 0–100");
});

test("a light's value is made beside its state as MQTT shows it: ON/OFF with the brightness on 0-255 when it has one", () => {
  const led = make({ key: "led", kind: "light", brightness_scale: 100 });
  expect(stateOf(led, "50").value).toEqual({ state: "ON", brightness: 128 });
  expect(stateOf(led, "0").value).toEqual({ state: "OFF", brightness: 0 });
  expect(stateOf(led, "on").value).toEqual({ state: "ON" });
  expect(stateOf(led, null).value).toBeNull();
});

test("a device_tracker's state is a position with Home Assistant's GPS attributes; no fix is unknown, a position off the globe is rejected", () => {
  const t = make({ key: "location", kind: "device_tracker" });
  expect(t.entityId).toBe("device_tracker.board_1_location");
  const fix = stateOf(t, { latitude: -37.784795, longitude: 175.314902, gps_accuracy: 5.5 });
  expect(fix).toMatchObject({ state: "-37.784795,175.314902", value: { latitude: -37.784795, longitude: 175.314902, gps_accuracy: 5.5 } });
  expect(fix.attributes).toMatchObject({ latitude: -37.784795, longitude: 175.314902, gps_accuracy: 5.5, source_type: "gps" });
  // Without an accuracy the attribute is left out rather than null (Home Assistant takes only a number).
  expect(stateOf(t, { latitude: 51.5, longitude: -0.125, gps_accuracy: null }).attributes).not.toHaveProperty("gps_accuracy");
  expect(stateOf(t, null)).toMatchObject({ state: "unknown", value: null });
  expect(rejection(t, { latitude: 91, longitude: 0, gps_accuracy: 1 })).toBe("a position off the globe");
  expect(rejection(t, { latitude: 0, longitude: 0, gps_accuracy: -1 })).toBe("a negative or infinite accuracy");
  expect(rejection(t, "51.5,-0.125")).toBe("expected a position");
  // A text sensor reading a position (a model file of its own) shows it as it always did.
  expect(stateOf(make({ key: "where", kind: "sensor", numeric: false }), { latitude: 51.5, longitude: -0.125, gps_accuracy: 4 }).state).toBe("51.5,-0.125");
});
