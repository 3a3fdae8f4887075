/** The line checksums against the catalogue's check values (the CRC of "123456789"), and what each covers. */
import { expect, test } from "bun:test";
import { CHECKSUM_ALGORITHMS } from "../../src/config/line-definition.ts";
import { checksumOf, lineChecksum } from "../../src/engine/line/checksum.ts";
import { crc16 } from "../../src/engine/modbus/crc.ts";
import { nmeaLine } from "../../src/engine/nmea/sentence.ts";

test("each CRC gives its catalogued check value for 123456789", () => {
  const check = Object.fromEntries(CHECKSUM_ALGORITHMS.filter((a) => a !== "nmea").map((a) => [a, checksumOf(a, "123456789")]));
  expect(check).toEqual({ "crc8-smbus": 0xf4, "crc8-maxim": 0xa1, "crc16-modbus": 0x4b37, "crc16-ccitt-false": 0x29b1, "crc16-xmodem": 0x31c3 });
  const bytes = new TextEncoder().encode("STATE relay:on");
  expect(checksumOf("crc16-modbus", "STATE relay:on")).toBe(crc16(bytes)); // the same CRC as the Modbus driver's
});

test("NMEA's checksum covers what lies between the $ and the *, as a receiver's sentences have it", () => {
  const sentence = nmeaLine("GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,").trimEnd();
  const nmea = lineChecksum({ algorithm: "nmea", separator: "*", commands: true });
  expect(nmea.verify(sentence)).toEqual({ ok: true, text: sentence.slice(0, -3) });
  expect(nmea.append("$PCMD,1")).toBe(`$PCMD,1*${checksumOf("nmea", "PCMD,1").toString(16).toUpperCase().padStart(2, "0")}`);
  expect(nmea.verify(`PCMD,1*${checksumOf("nmea", "PCMD,1").toString(16).padStart(2, "0")}`)).toMatchObject({ ok: true }); // no $, lower-case hex
});

test("a CRC covers the whole line before its separator; a wrong, short or missing one says what it expected", () => {
  const crc8 = lineChecksum({ algorithm: "crc8-maxim", separator: ";", commands: false });
  const sum = checksumOf("crc8-maxim", "T=21.5").toString(16).toUpperCase().padStart(2, "0");
  expect(crc8.append("T=21.5")).toBe(`T=21.5;${sum}`);
  expect(crc8.verify(`T=21.5;${sum}`)).toEqual({ ok: true, text: "T=21.5" });
  const wrong = sum === "00" ? "01" : "00";
  expect(crc8.verify(`T=21.6;${sum}`)).toMatchObject({ ok: false, why: expect.stringMatching(/^bad checksum: expected [0-9A-F]{2}, got /) });
  // A checksum there but wrong is a mismatch (counted apart in /metrics); a missing or short one is not.
  expect(crc8.verify(`T=21.5;${wrong}`)).toEqual({ ok: false, why: `bad checksum: expected ${sum}, got ${wrong}`, mismatch: true });
  expect(crc8.verify("T=21.5;A")).toEqual({ ok: false, why: 'no checksum: expected 2 hex digits after ";", got "A"' });
  expect(crc8.verify("T=21.5")).toEqual({ ok: false, why: "no checksum (the line should end in ;hh)" });
  const crc16 = lineChecksum({ algorithm: "crc16-ccitt-false", separator: "*", commands: false });
  expect(crc16.append("123456789")).toBe("123456789*29B1");
  expect(crc16.verify("123456789*29b1")).toEqual({ ok: true, text: "123456789" });
});
