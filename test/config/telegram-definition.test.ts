import { expect, test } from "bun:test";
import { modelOf } from "../engine/line-peer.ts";

/** The message refusing a model, or "" when it is accepted. */
function refusal(text: string): string {
  try {
    modelOf(text, "/etc/hearth/models/meter.yaml");
    return "";
  } catch (err) {
    return (err as Error).message;
  }
}

const model = (entities: string, telegram = "") => `model: my-meter\nname: My meter\nmanufacturer: me\nprotocol: telegram\n${telegram}entities:\n${entities}`;

test("a telegram model with OBIS codes, units and scales is accepted, its defaults those of a DSMR 4+ meter", () => {
  const text = model(
    '  - { key: power, kind: sensor, unit: W, obis: "1-0:1.7.0", obis_unit: kW, scale: 1000 }\n  - { key: gas, kind: sensor, unit: "m³", obis: "0-*:24.2.1", device_type: 3, obis_unit: m3 }\n',
  );
  expect(refusal(text)).toBe("");
  const parsed = modelOf(text, "/etc/hearth/models/meter.yaml");
  expect(parsed.protocol === "telegram" && parsed.telegram).toEqual({ crc: "crc16-arc", max_length: 8192 });
  expect(parsed.poll_interval).toBe(10);
});

test("a malformed OBIS code, a channel * without a device type, a device type without *, and a zero scale are refused at their entity", () => {
  expect(refusal(model('  - { key: e, kind: sensor, obis: "1.8.1" }\n'))).toContain("entities[0].obis: expected an OBIS code such as 1-0:1.8.1");
  expect(refusal(model('  - { key: gas, kind: sensor, obis: "0-*:24.2.1" }\n'))).toContain("entities[0].device_type: expected a device_type for an OBIS code with channel *");
  expect(refusal(model('  - { key: gas, kind: sensor, obis: "0-1:24.2.1", device_type: 3 }\n'))).toContain("entities[0].obis: expected channel * (0-*:24.2.1) with a device_type");
  expect(refusal(model('  - { key: e, kind: sensor, obis: "1-0:1.8.1", scale: 0 }\n'))).toContain("entities[0].scale: expected a non-zero scale");
  expect(refusal(model('  - { key: e, kind: sensor, obis: "1-0:1.8.1" }\n', "telegram: { crc: crc32 }\n"))).toContain("telegram.crc");
});
