import { expect, test } from "bun:test";
import { EntityDescriptionSchema } from "../../src/entities/description.ts";
import { Entity } from "../../src/entities/entity.ts";

const make = (d: Record<string, unknown>) => new Entity({ description: EntityDescriptionSchema.parse(d), nodeId: "attic", deviceId: "Board-1" });

test("an entity's ids follow <kind>.<device>_<key> and <node>_<device>_<key>", () => {
  const e = make({ key: "relay1", kind: "switch", name: "Relay 1" });
  expect(e.entityId).toBe("switch.board_1_relay1");
  expect(e.uniqueId).toBe("attic_Board-1_relay1");
  expect(e.name).toBe("Relay 1");
  expect(make({ key: "water_level", kind: "sensor" }).name).toBe("Water level");
});

test("a numeric sensor keeps its precision and carries its unit and classes", () => {
  const s = make({ key: "temperature", kind: "sensor", unit: "°C", device_class: "temperature", state_class: "measurement", precision: 1 });
  expect(s.toState("21.54")).toMatchObject({ state: "21.5", value: 21.5 });
  expect(s.toState("21.54").attributes).toMatchObject({ unit_of_measurement: "°C", device_class: "temperature", state_class: "measurement" });
});

test("a reading that does not fit is unknown, never a wrong value", () => {
  const s = make({ key: "temperature", kind: "sensor" });
  expect(s.toState("nan").state).toBe("unknown");
  expect(s.toState(null).state).toBe("unknown");
  expect(s.toState("").state).toBe("unknown");
  expect(make({ key: "relay", kind: "switch" }).toState("2").state).toBe("unknown");
});

test("switches and binary sensors read 1/0, on/off and booleans", () => {
  const sw = make({ key: "relay", kind: "switch" });
  expect(sw.toState("1")).toMatchObject({ state: "on", value: "ON" });
  expect(sw.toState(false)).toMatchObject({ state: "off", value: "OFF" });
  expect(make({ key: "door", kind: "binary_sensor" }).toState("on").state).toBe("on");
});

test("a light's raw brightness is scaled to 0-255", () => {
  const led = make({ key: "led", kind: "light", brightness_scale: 100 });
  expect(led.toState("50")).toMatchObject({ state: "on", attributes: { brightness: 128 } });
  expect(led.toState("0").state).toBe("off");
});
