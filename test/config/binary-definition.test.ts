import { expect, test } from "bun:test";
import { BinaryDeviceDefinitionSchema } from "../../src/config/device-definition.ts";
import { frameChecksum } from "../../src/engine/binary/checksum.ts";
import { BinaryFrames } from "../../src/engine/binary/frames.ts";
import { modelOf } from "../engine/line-peer.ts";

const head = `
model: test-sensor
name: Test sensor
manufacturer: example
protocol: binary
`;

function problems(yaml: string): string {
  try {
    modelOf(yaml);
    return "";
  } catch (err) {
    return (err as Error).message;
  }
}

test("a binary model's bytes may be hex text or numbers, and its defaults are filled in", () => {
  const m = BinaryDeviceDefinitionSchema.parse(
    Bun.YAML.parse(`${head}binary: { header: "FF", length: 9, checksum: { algorithm: sum8-twos-complement, from: 1 }, poll: [0xFF, 1, 0x86, 0, 0, 0, 0, 0] }
entities: [{ key: co2, kind: sensor, field: { at: 2, type: uint16 } }]`),
  );
  expect(m.binary.header).toEqual([0xff]);
  expect(m.binary.poll).toEqual([0xff, 0x01, 0x86, 0, 0, 0, 0, 0]);
  expect(m.entities[0]).toMatchObject({ field: { at: 2, type: "uint16", order: "big", scale: 1, offset: 0 } });
  expect(m.poll_interval).toBe(10);
});

test("a field beyond the frame's data, a sensor without a field, a button with nothing to send and a request without the header are refused at their paths", () => {
  const text = problems(`${head}binary: { header: "AA", length: 10, tail: "AB", checksum: { algorithm: sum8, from: 2 }, poll: "BB B4 04" }
entities:
  - { key: pm25, kind: sensor, field: { at: 7, type: uint16 } }
  - { key: pm10, kind: sensor }
  - { key: query, kind: button }
  - { key: fan, kind: switch }`);
  expect(text).toContain("binary.poll: a request frame starts with the header (0xAA) like every frame");
  expect(text).toContain("entities[0].field.at: a uint16 at byte 7 ends at byte 9, beyond the frame's data (it ends at byte 8)");
  expect(text).toContain("entities[1].field: a sensor needs a field");
  expect(text).toContain("entities[2].write: a button needs the request frame it sends");
  expect(text).toContain("entities[3].kind: a binary model has sensors, binary sensors and buttons, not a switch");
});

test("hex that is not bytes is refused saying what bytes look like", () => {
  expect(problems(`${head}binary: { header: "F", length: 9 }\nentities: [{ key: co2, kind: sensor, field: { at: 2 } }]`)).toContain('expected hex bytes such as "FF 01 86"');
});

test("each checksum algorithm as its makers define it", () => {
  const frame = Uint8Array.from([0xff, 0x01, 0x86, 0, 0, 0, 0, 0, 0x79]);
  expect(frameChecksum({ algorithm: "sum8-twos-complement", from: 1 }).compute(frame, 8)).toBe(0x79); // MH-Z19B manual
  const query = Uint8Array.from([0xaa, 0xb4, 0x04, ...new Array(12).fill(0), 0xff, 0xff]);
  expect(frameChecksum({ algorithm: "sum8", from: 2 }).compute(query, 17)).toBe(0x02); // SDS011 protocol V1.3
  expect(frameChecksum({ algorithm: "sum16", from: 0 }).compute(Uint8Array.from([0x42, 0x4d, 0xe2, 0x00, 0x00]), 5)).toBe(0x0171); // PMS5003 manual
  expect(frameChecksum({ algorithm: "xor8", from: 0 }).compute(Uint8Array.from([0x01, 0x02, 0x07]), 3)).toBe(0x04);
  // CRC-16/MODBUS's check value over "123456789", and Modbus's low-byte-first order by default.
  const nine = new TextEncoder().encode("123456789");
  const crc = frameChecksum({ algorithm: "crc16-modbus", from: 0 });
  expect(crc.compute(nine, 9)).toBe(0x4b37);
  const out = new Uint8Array(2);
  crc.write(out, 0, 0x4b37);
  expect([...out]).toEqual([0x37, 0x4b]);
});

test("request frames get the model's checksum and tail: the SDS011 query becomes the protocol's AA B4 04 … FF FF 02 AB", () => {
  const m =
    modelOf(`${head}binary: { header: "AA", length: 10, tail: "AB", checksum: { algorithm: sum8, from: 2 }, report: { at: 1, bytes: "C0" }, poll: "AA B4 04 00 00 00 00 00 00 00 00 00 00 00 00 FF FF" }
entities: [{ key: pm25, kind: sensor, field: { at: 2, type: uint16, order: little, scale: 0.1 } }]`);
  if (m.protocol !== "binary") throw new Error("not binary");
  const frames = new BinaryFrames(m.binary);
  const hex = [...frames.request(m.binary.poll as number[])].map((b) => b.toString(16).toUpperCase().padStart(2, "0")).join(" ");
  expect(hex).toBe("AA B4 04 00 00 00 00 00 00 00 00 00 00 00 00 FF FF 02 AB");
});
