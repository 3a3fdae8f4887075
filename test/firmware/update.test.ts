import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildFirmware, buildOptiboot, type EmulatedBoard, startEmulator } from "../helpers/simavr.ts";
import { tempDir } from "../helpers/temp.ts";
import { broker, cleanUpAfterEach, configFile, hearth, peer } from "../mqtt/helpers.ts";

// Firmware updates end to end: hearth on a real Mosquitto updates the real hearth-io firmware on an
// emulated ATmega328P (simavr) that runs the real Optiboot bootloader Debian's arduino-core-avr ships,
// with avrdude writing through it over the emulated board's pseudo-terminal.
//
// The one stand-in: a pty has no modem lines, so there is no DTR for avrdude to pulse and no auto-reset
// capacitor to turn it into a reset. The harness's --reset-on-open resets the MCU (as an external reset,
// so Optiboot stays for avrdude) whenever the port is opened, which is what the circuit on an Uno does.
cleanUpAfterEach();

let out = "";
let version100 = "";
let version110 = "";
let silent = "";
let board: EmulatedBoard | undefined;

async function run(cmd: string[], cwd?: string): Promise<void> {
  const p = Bun.spawn(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  const [code, stderr] = await Promise.all([p.exited, new Response(p.stderr).text()]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} failed (${code}): ${stderr}`);
}

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), "hearth-update-")); // for the whole file: tempDir's go after each test
  const a = await buildFirmware(join(out, "a"));
  version100 = a.hex;
  version110 = (await buildFirmware(join(out, "b"), ["FIRMWARE_VERSION=1.1.0"])).hex;
  // A program that runs and never says hello: what a build for the wrong board, or a broken one, looks like.
  writeFileSync(join(out, "silent.c"), "int main(void) { for (;;) {} }\n");
  await run(["avr-gcc", "-mmcu=atmega328p", "-Os", "-o", "silent.elf", "silent.c"], out);
  await run(["avr-objcopy", "-O", "ihex", "silent.elf", "silent.hex"], out);
  silent = join(out, "silent.hex");
  board = await startEmulator(a.harness, ["--bootloader", await buildOptiboot(join(out, "a")), "--reset-on-open", a.hex]);
}, 180_000);

afterAll(async () => {
  await board?.stop();
  if (out !== "") rmSync(out, { recursive: true, force: true });
});

interface Reply {
  status: string;
  error?: string;
  transaction?: string;
  data: { status?: string; version_before?: string | null; version_after?: string | null; steps?: Array<{ step: string; ok: boolean; detail: string }> };
}

async function setUp() {
  const b = await broker();
  const file = configFile(
    `node_id: test\nmqtt:\n  url: ${b.url}\n  base_topic: hearth/test\ndevices:\n  - id: mcu\n    model: hearth-io\n    port: ${board!.pty}\n  - id: other\n    model: hearth-io\n    port: sim\n    options: { interval: 60000 }\n`,
  );
  const dataDir = tempDir("hearth-update-data-");
  const h = await hearth(file, { dataDir });
  const p = await peer(b.url, ["hearth/test/#"]);
  await p.json<{ firmware?: string }>("hearth/test/mcu", (s) => typeof s.firmware === "string", 20_000);
  const update = async (body: Record<string, unknown>) => {
    const transaction = `t${Math.random()}`;
    await p.publish("hearth/test/bridge/request/device/firmware", JSON.stringify({ id: "mcu", ...body, transaction }));
    return p.json<Reply>("hearth/test/bridge/response/device/firmware", (r) => (r as { transaction?: string }).transaction === transaction, 120_000);
  };
  return { ...h, file, peer: p, update, dataDir };
}

test("hearth updates the firmware from 1.0.0 to 1.1.0, step by step, while its other devices go on; the board then says 1.1.0", async () => {
  const { update, peer: p, service } = await setUp();
  expect(service.hub.states.get("sensor.mcu_firmware")?.state).toBe("1.0.0");
  const reply = update({ path: version110 });
  // Meanwhile the other board takes commands as ever.
  await p.publish("hearth/test/other/set", JSON.stringify({ relay1: "ON", transaction: "other" }));
  expect((await p.json<{ status: string }>("hearth/test/other/response", (r) => (r as { transaction?: string }).transaction === "other", 10_000)).status).toBe("ok");
  const r = await reply;
  expect(r.status).toBe("ok");
  expect(r.data.status).toBe("updated");
  expect(r.data.version_before).toBe("1.0.0");
  expect(r.data.version_after).toBe("1.1.0");
  expect(r.data.steps!.map((s) => `${s.step} ${s.ok}`)).toEqual(["check true", "stop true", "backup true", "write true", "hello true"]);
  // A first update: the image to roll back to is read back from the board itself.
  expect(r.data.steps![2]!.detail).toMatch(/^read \d+ bytes of application flash back from the device/);
  expect(service.hub.states.get("sensor.mcu_firmware")?.state).toBe("1.1.0");
  await p.publish("hearth/test/bridge/request/devices", "{}");
  const devices = await p.json<{ data: Array<{ id: string; sw_version: string; firmware: { last_update: { status: string; version_after: string } } }> }>("hearth/test/bridge/response/devices");
  const mcu = devices.data.find((d) => d.id === "mcu")!;
  expect(mcu.sw_version).toBe("1.1.0");
  expect(mcu.firmware.last_update).toMatchObject({ status: "updated", version_after: "1.1.0" });
}, 180_000);

test("a damaged image is refused before the board's link is touched, and the board runs on", async () => {
  const { update, service } = await setUp();
  const entry = service.devices.entries.get("mcu")!;
  const lines = readFileSync(version110, "latin1").split(/\r?\n/);
  lines[3] = lines[3]!.replace(/.$/, (c) => (c === "0" ? "1" : "0"));
  const r = await update({ hex: lines.join("\n") });
  expect(r.status).toBe("error");
  expect(r.error).toBe("mcu: firmware update refused, nothing was touched: the image is not a valid Intel HEX file for this device: line 4: the record fails its checksum (the file is damaged)");
  expect(service.devices.entries.get("mcu")).toBe(entry);
  expect(entry.runtime?.device.available).toBe(true);
}, 60_000);

test("an image that never says hello is rolled back to the firmware before it, which says hello again", async () => {
  const { update, service } = await setUp();
  const before = service.hub.states.get("sensor.mcu_firmware")?.state;
  const r = await update({ path: silent });
  expect(r.status).toBe("error");
  expect(r.data.status).toBe("rolled_back");
  expect(r.error).toContain("the device did not say hello within 15 s");
  expect(r.data.steps!.map((s) => `${s.step} ${s.ok}`)).toEqual(["check true", "stop true", "backup true", "write true", "hello false", "rollback true", "rollback hello true"]);
  expect(r.data.version_after).toBe(before!);
  expect(service.hub.states.get("sensor.mcu_firmware")?.state).toBe(before!);
}, 180_000);

test("hearth firmware on the board writes an image and says each step; 2 for a file that is no image", async () => {
  const { file } = await setUp();
  const cli = join(import.meta.dir, "..", "..", "src", "cli.ts");
  const cmd = (args: string[]) => Bun.spawn([process.execPath, cli, "firmware", "--config", file.path, ...args], { stdout: "pipe", stderr: "pipe" });
  const bad = cmd(["mcu", join(out, "silent.c")]);
  expect(await bad.exited).toBe(2);
  expect(await new Response(bad.stderr).text()).toContain("not a valid Intel HEX image: line 1: not an Intel HEX record");
  const good = cmd(["mcu", version100, "--expect-version", "1.0.0"]);
  const [code, stdout] = await Promise.all([good.exited, new Response(good.stdout).text()]);
  expect(stdout).toMatch(/ok +write +\d+ bytes written and verified/);
  expect(stdout).toMatch(/mcu: firmware updated, \d\.\d\.\d → 1\.0\.0/);
  expect(code).toBe(0);
}, 180_000);
