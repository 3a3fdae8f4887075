import { expect, test } from "bun:test";
import { DeviceDefinitionSchema, SerialSettingsSchema } from "../../src/config/device-definition.ts";
import { formatIssues } from "../../src/config/issues.ts";

const model = (serial?: Record<string, unknown>) => ({
  model: "test-meter",
  name: "Test meter",
  manufacturer: "hearth",
  protocol: "modbus",
  ...(serial === undefined ? {} : { serial }),
});

test("a model that names no serial settings gets 9600 baud, 8N1, no flow control; one that names some gets the rest", () => {
  expect(DeviceDefinitionSchema.parse(model()).serial).toEqual({ baud: 9600, data_bits: 8, parity: "none", stop_bits: 1, rts_cts: false });
  expect(DeviceDefinitionSchema.parse(model({ baud: 2400, parity: "even" })).serial).toEqual({ baud: 2400, data_bits: 8, parity: "even", stop_bits: 1, rts_cts: false });
});

test("a model may name every parity a tty takes, mark and space too; another is refused with the list", () => {
  for (const parity of ["none", "even", "odd", "mark", "space"] as const) expect(SerialSettingsSchema.parse({ parity }).parity).toBe(parity);
  const input = model({ parity: "sticky" });
  const parsed = DeviceDefinitionSchema.safeParse(input);
  expect(parsed.success).toBe(false);
  expect(formatIssues(parsed.error!.issues, { input })).toEqual(['serial.parity: expected one of "none"|"even"|"odd"|"mark"|"space", got "sticky"']);
});

test("data and stop bits outside what a tty takes are refused with what it takes", () => {
  const input = model({ data_bits: 9, stop_bits: 1.5 });
  const parsed = DeviceDefinitionSchema.safeParse(input);
  expect(formatIssues(parsed.error!.issues, { input })).toEqual(["serial.data_bits: expected one of 5|6|7|8, got 9", "serial.stop_bits: expected one of 1|2, got 1.5"]);
});

test("Home Assistant's device classes with digits (pm25, pm1) are taken; one that is not a class's shape is refused with what one looks like", () => {
  const withClass = (device_class: string) => ({
    ...model(),
    entities: [{ key: "pm", kind: "sensor", device_class, register: { address: 0, kind: "input" } }],
  });
  for (const cls of ["pm25", "pm1", "pm10", "volatile_organic_compounds_parts", "temperature"]) {
    expect(DeviceDefinitionSchema.safeParse(withClass(cls)).success).toBe(true);
  }
  const input = withClass("PM2.5");
  const parsed = DeviceDefinitionSchema.safeParse(input);
  expect(formatIssues(parsed.error!.issues, { input })).toEqual([
    'entities[0].device_class: expected a Home Assistant device class: lower-case letters, digits and _ (temperature, pm25), got "PM2.5"',
  ]);
});

test("a device_tracker is taken only where readings are positions: an nmea model's location", () => {
  const nmea = (read: string) => ({ model: "gps", name: "GPS", manufacturer: "hearth", protocol: "nmea", entities: [{ key: "where", kind: "device_tracker", read }] });
  expect(DeviceDefinitionSchema.safeParse(nmea("location")).success).toBe(true);
  for (const input of [nmea("latitude"), { ...model(), entities: [{ key: "where", kind: "device_tracker", register: { address: 0, kind: "input" } }] }]) {
    const parsed = DeviceDefinitionSchema.safeParse(input);
    expect(formatIssues(parsed.error!.issues, { input })).toEqual(["entities[0].kind: a device_tracker takes positions, which only an nmea model's `read: location` gives"]);
  }
});

test("one entity at most is a model's main one (Home Assistant names it by the device alone)", () => {
  const entity = (key: string) => ({ key, kind: "sensor", main: true, register: { address: 0, kind: "input", type: "uint16" } });
  const input = { ...model(), entities: [entity("a"), entity("b")] };
  const parsed = DeviceDefinitionSchema.safeParse(input);
  expect(parsed.success).toBe(false);
  expect(formatIssues(parsed.error!.issues, { input })).toEqual(["entities[1].main: only one entity may be the main one (entities[0] is), got true"]);
  expect(DeviceDefinitionSchema.parse({ ...model(), entities: [entity("a")] }).entities[0]?.main).toBe(true);
});
