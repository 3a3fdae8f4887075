import { afterEach, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openPty, type Pty } from "../../src/serial/pty.ts";
import { tempDir } from "../helpers/temp.ts";
import { broker, cleanUpAfterEach, configFile, hearth, peer } from "./helpers.ts";

// `bridge/request/device/firmware` refused before anything is touched, on a real Mosquitto: the
// updates themselves run against the real firmware on an emulated board (test/firmware/update.test.ts).
// The ports here are pseudo-terminals nobody answers on: the device is set up on them, and stays so.
cleanUpAfterEach();
const ptys: Pty[] = [];
afterEach(async () => {
  for (const p of ptys.splice(0)) await p.close();
});

function pty(): string {
  const p = openPty();
  ptys.push(p);
  return p.path;
}

const HEX = ":100000000C9434000C9446000C9446000C9446006A\n:00000001FF\n";

async function setUp() {
  const b = await broker();
  const solo = pty();
  const bus = pty();
  const board = (id: string, port: string) => `  - id: ${id}\n    model: hearth-io\n    port: ${port}\n`;
  const file = configFile(
    `node_id: test\nmqtt:\n  url: ${b.url}\n  base_topic: hearth/test\n  max_payload: 1024\ndevices:\n${board("solo", solo)}${board("simulated", "sim")}${board("left", bus)}${board("right", bus)}  - id: gps\n    model: nmea-gps\n    port: sim\n`,
  );
  const dataDir = tempDir("hearth-firmware-data-");
  const h = await hearth(file, { dataDir });
  const p = await peer(b.url, ["hearth/test/#"]);
  const ask = async (body: Record<string, unknown>) => {
    const transaction = `t${Math.random()}`;
    await p.publish("hearth/test/bridge/request/device/firmware", JSON.stringify({ ...body, transaction }));
    return p.json<{ status: string; error?: string; data: Record<string, unknown>; transaction?: string }>("hearth/test/bridge/response/device/firmware", (r) => r.transaction === transaction, 10_000);
  };
  return { ...h, peer: p, ask, dataDir };
}

test("an update is refused, saying why, for a simulated device, a model without one, a shared bus, and an unknown device", async () => {
  const { ask } = await setUp();
  expect((await ask({ id: "simulated", hex: HEX })).error).toBe("simulated: firmware update refused, nothing was touched: it is simulated (port: sim): there is no firmware to write");
  expect((await ask({ id: "gps", hex: HEX })).error).toBe(
    "gps: firmware update refused, nothing was touched: its model nmea-gps says of no way to update its firmware (no firmware: in its model file)",
  );
  const shared = await ask({ id: "left", hex: HEX });
  expect(shared.error).toMatch(/^left: firmware update refused, nothing was touched: its port \/dev\/pts\/\d+ is shared with right, which the update would cut off/);
  expect((await ask({ id: "cellar", hex: HEX })).error).toStartWith('no device "cellar"');
  expect((await ask({ id: "solo" })).error).toContain('give the image as "path" (an Intel HEX file on the board) or as "hex" (its text), one of the two');
});

test("a damaged image is refused before the device's link is touched: the device stays set up, and no update begins", async () => {
  const { ask, service, logs } = await setUp();
  const before = service.devices.entries.get("solo")!;
  const cut = HEX.split("\n")[0]!; // no end-of-file record
  const reply = await ask({ id: "solo", hex: cut });
  expect(reply.status).toBe("error");
  expect(reply.error).toBe("solo: firmware update refused, nothing was touched: the image is not a valid Intel HEX file for this device: no end-of-file record: the file is cut short (1 lines read)");
  const tooBig = await ask({ id: "solo", hex: ":0100007E0080\n:00000001FF\n".replace("0100007E0080", "01FE00000001") });
  expect(tooBig.error).toMatch(/the image is not a valid Intel HEX file for this device: line 1: (the record fails its checksum|data at 0x)/);
  // The same entry, still loaded: its link was never closed.
  expect(service.devices.entries.get("solo")).toBe(before);
  expect(before.state).toBe("loaded");
  expect(logs.find("Firmware update of solo begins")).toEqual([]);
});

test("an image may be a file on the board, and bigger than mqtt.max_payload: a directory or a missing file is answered with why", async () => {
  const { ask, dataDir } = await setUp();
  const folder = join(dataDir, "not-a-file");
  mkdirSync(folder);
  expect((await ask({ id: "solo", path: folder })).error).toBe(`cannot read the image ${folder}: it is not a file`.replace("cannot read the image ", "the image ").replace(": it is", " is"));
  expect((await ask({ id: "solo", path: join(dataDir, "missing.hex") })).error).toBe(`cannot read the image ${join(dataDir, "missing.hex")}: ENOENT`);
  // 4 KB of records (over max_payload's 1024) with a bad one at the end: read whole, and refused for that line.
  const records = Array.from({ length: 100 }, (_, i) => `:10${(i * 16).toString(16).padStart(4, "0").toUpperCase()}00${"00".repeat(16)}${checksum(16, i * 16)}`);
  const file = join(dataDir, "big.hex");
  writeFileSync(file, `${records.join("\n")}\n:0000000100\n`);
  const reply = await ask({ id: "solo", path: file });
  expect(reply.error).toContain("line 101: the record fails its checksum");
  const inline = await ask({ id: "solo", hex: `${records.join("\n")}\n:0000000100\n` });
  expect(inline.error).toContain("line 101: the record fails its checksum");
});

test("bridge/devices says which devices can be updated and the firmware they said; the firmware version is a diagnostic entity", async () => {
  const { peer: p, service } = await setUp();
  await p.publish("hearth/test/bridge/request/devices", "{}");
  const reply = await p.json<{ data: Array<{ id: string; sw_version: string | null; firmware: { updatable: boolean; last_update: unknown } }> }>("hearth/test/bridge/response/devices");
  const byId = Object.fromEntries(reply.data.map((d) => [d.id, d]));
  expect(byId.solo!.firmware).toEqual({ updatable: true, last_update: null });
  expect(byId.simulated!.firmware.updatable).toBe(false);
  expect(byId.gps!.firmware.updatable).toBe(false);
  // A board says its version in its hello, at boot: the simulated one's went out before hearth opened its
  // port (a real Uno is reset by the opening), so it is restarted here, and then bridge/devices and the entity show it.
  const state = p.json<{ firmware?: string }>("hearth/test/simulated", (s) => s.firmware === "1.0.0", 10_000);
  await p.publish("hearth/test/simulated/set/restart", "PRESS");
  await state;
  expect(service.hub.states.get("sensor.simulated_firmware")?.state).toBe("1.0.0");
  expect(service.devices.entities.get("sensor.simulated_firmware")?.description.entity_category).toBe("diagnostic");
  await p.publish("hearth/test/bridge/request/devices", "{}");
  const after = await p.json<{ data: Array<{ id: string; sw_version: string | null }> }>("hearth/test/bridge/response/devices");
  expect(after.data.find((d) => d.id === "simulated")?.sw_version).toBe("1.0.0");
});

function checksum(length: number, address: number): string {
  const sum = (length + (address >> 8) + (address & 0xff)) & 0xff;
  return ((0x100 - sum) & 0xff).toString(16).padStart(2, "0").toUpperCase();
}
