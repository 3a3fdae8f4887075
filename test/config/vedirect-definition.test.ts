import { expect, test } from "bun:test";
import { DeviceDefinitionSchema } from "../../src/config/device-definition.ts";
import { formatIssues } from "../../src/config/issues.ts";

const model = (entities: unknown[], extra: Record<string, unknown> = {}) => ({
  model: "my-charger",
  name: "My charger",
  manufacturer: "Victron Energy",
  protocol: "vedirect",
  entities,
  ...extra,
});

const problems = (input: Record<string, unknown>) => {
  const parsed = DeviceDefinitionSchema.safeParse(input);
  return parsed.success ? [] : formatIssues(parsed.error.issues, { input });
};

test("a VE.Direct model gets 19200 8N1, a 5 s poll and no products unless it names them", () => {
  const parsed = DeviceDefinitionSchema.parse(model([{ key: "battery_voltage", label: "V", kind: "sensor", scale: 0.001 }]));
  expect(parsed.serial).toEqual({ baud: 19200, data_bits: 8, parity: "none", stop_bits: 1, rts_cts: false });
  expect(DeviceDefinitionSchema.parse(model([{ key: "v", label: "V", kind: "sensor" }], { serial: { parity: "none" } })).serial.baud).toBe(19200);
  expect(parsed).toMatchObject({ poll_interval: 5, timeout: 3, vedirect: { products: {}, no_value: ["---"] } });
});

test("entities are read-only, scales are for numeric sensors, and a table fits its entity", () => {
  expect(
    problems(
      model([
        { key: "relay", label: "Relay", kind: "switch" },
        { key: "state", label: "CS", kind: "sensor", map: { "3": "Bulk" } },
        { key: "serial", label: "SER#", kind: "sensor", numeric: false, scale: 0.1 },
        { key: "load", label: "LOAD", kind: "binary_sensor", map: { ON: "maybe" } },
      ]),
    ),
  ).toEqual([
    'entities[0].kind: a VE.Direct text block is read-only: expected sensor or binary_sensor, got "switch"',
    'entities[1].map.3: expected a number (this sensor is numeric; a table of words needs numeric: false), got "Bulk"',
    "entities[2].scale: only for numeric sensors, not a text sensor, got 0.1",
    'entities[3].map.ON: expected ON or OFF (or true/false, 1/0), got "maybe"',
  ]);
});

test("a label with a space and a product id that is not one are refused saying what one looks like", () => {
  const out = problems(model([{ key: "v", label: "V PV", kind: "sensor" }], { vedirect: { products: { A053: "SmartSolar" } } }));
  expect(out).toHaveLength(2);
  expect(out.some((p) => p.startsWith("entities[0].label: expected a VE.Direct label"))).toBe(true);
  expect(out.some((p) => p.startsWith("vedirect.products.A053: this key is not a PID"))).toBe(true);
});
