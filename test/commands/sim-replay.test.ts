import { afterEach, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type CatalogueModel, catalogueOf, checkedDefinition } from "../../src/engine/catalogue.ts";
import { ReplaySimulator, replaySimulatorOf, UNREAD_LIMIT } from "../../src/engine/replay.ts";
import { BunBinding } from "../../src/serial/binding.ts";
import type { BunPort } from "../../src/serial/port.ts";
import { deviceHub, stateOf } from "../engine/helpers.ts";
import { OutputReader } from "../helpers/output-reader.ts";
import { tempDir } from "../helpers/temp.ts";
import { until } from "../helpers/until.ts";
import { firstDifference, receive } from "../serial/helpers.ts";

const root = join(import.meta.dir, "..", "..");
const bun = process.execPath;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** `hearth sim --replay …` as a child process, with the pty path it printed. */
async function replay(...args: string[]) {
  const child = Bun.spawn([bun, join(root, "src/cli.ts"), "sim", "--replay", ...args], { cwd: root, stdout: "pipe", stderr: "pipe" });
  cleanups.push(() => {
    child.kill("SIGKILL");
  });
  const out = new OutputReader(child.stdout);
  const err = new OutputReader(child.stderr);
  await out.waitFor("\n");
  return { child, out, err, path: out.text.trim() };
}

/** Opens a pty as hearth opens a serial port. */
async function open(path: string): Promise<BunPort> {
  const port = await new BunBinding().open({ path, baudRate: 115200 });
  cleanups.push(() => port.close());
  return port;
}

function capture(name: string, bytes: Uint8Array | string): string {
  const file = join(tempDir("hearth-replay-"), name);
  writeFileSync(file, bytes);
  return file;
}

test("sim --replay plays every byte of a capture, in order, onto the pty it prints, leaving out the recorder's # notes at the top", async () => {
  // Every byte value, newlines, NULs and a # mid-file included, as a binary capture (VE.Direct's HEX part, Modbus) has them.
  const body = new Uint8Array(4096 + 64);
  for (let i = 0; i < 4096; i++) body[i] = (i * 7) % 256;
  body.set(new TextEncoder().encode("\n# not the header: a device sent this\n$GPGSA,A,1*1E\r\n\0\0"), 4096);
  const header = "# Name: test receiver\n# Date: 2014-12-31\n";
  const file = capture("binary.log", Buffer.concat([Buffer.from(header), body]));
  const sim = await replay(file, "--baud", "460800");
  expect(sim.path).toMatch(/^\/dev\/pts\/\d+$/);
  const port = await open(sim.path);
  const got = await receive(port, body.length);
  expect(firstDifference(got, body)).toBe(-1);
  await sim.err.waitFor(`hearth sim: played all of ${file} (${body.length} bytes); the port stays open until Ctrl-C`);
  sim.child.kill("SIGINT");
  expect(await sim.child.exited).toBe(0);
});

test("sim --replay paces a capture: --rate in lines a second, --baud (and by default 9600) as that line carries bytes", async () => {
  const lines = Array.from({ length: 30 }, (_, i) => `line ${String(i).padStart(2, "0")}\n`).join(""); // 8 bytes a line
  const byBaud = Array.from({ length: 24 }, (_, i) => `${"x".repeat(16)} ${String(i).padStart(2, "0")}\n`).join(""); // 480 bytes
  const byDefault = byBaud + byBaud; // 960 bytes
  const runs = [
    { file: capture("lines.log", lines), args: ["--rate", "20"], size: lines.length, least: (30 - 1) / 20 },
    { file: capture("baud.log", byBaud), args: ["--baud", "4800"], size: byBaud.length, least: ((byBaud.length - 20) * 10) / 4800 },
    { file: capture("default.log", byDefault), args: [], size: byDefault.length, least: ((byDefault.length - 20) * 10) / 9600 },
  ];
  const elapsed = await Promise.all(
    runs.map(async (run) => {
      // From before the player could start: its last piece cannot be written sooner than the pieces before it take.
      const startedAt = performance.now();
      const sim = await replay(run.file, ...run.args);
      const got = await receive(await open(sim.path), run.size);
      const seconds = (performance.now() - startedAt) / 1000;
      expect(new TextDecoder().decode(got)).toBe(readFileSync(run.file, "latin1"));
      sim.child.kill("SIGINT");
      expect(await sim.child.exited).toBe(0);
      return seconds;
    }),
  );
  // Lower bounds only: a slow machine may take longer, never shorter.
  for (const [i, run] of runs.entries()) expect(elapsed[i]!).toBeGreaterThanOrEqual(run.least);
});

test("sim --replay --loop plays the capture again from the start", async () => {
  const text = "$GPGGA,1*00\r\n$GPRMC,2*00\r\n";
  const sim = await replay(capture("loop.log", text), "--loop", "--baud", "115200");
  const got = await receive(await open(sim.path), text.length * 3 + 5);
  expect(new TextDecoder().decode(got)).toBe(text.repeat(4).slice(0, text.length * 3 + 5));
  sim.child.kill("SIGTERM");
  expect(await sim.child.exited).toBe(0);
});

test("sim --replay refuses, with exit 2 and the reason, what it cannot play", () => {
  const run = (...args: string[]) => {
    const r = Bun.spawnSync([bun, join(root, "src/cli.ts"), "sim", ...args], { cwd: root });
    return { code: r.exitCode, err: r.stderr.toString() };
  };
  const missing = join(tempDir("hearth-replay-"), "missing.log");
  expect(run("--replay", missing)).toEqual({ code: 2, err: expect.stringContaining(`hearth sim: cannot read the capture ${missing}`) });
  const file = capture("ok.log", "x\n");
  expect(run("--replay", file, "--rate", "5", "--baud", "9600")).toEqual({ code: 2, err: expect.stringContaining("--rate (lines a second) or --baud") });
  expect(run("--replay", file, "--rate", "0")).toEqual({ code: 2, err: expect.stringContaining("--rate expects lines a second") });
  expect(run("--replay", file, "--baud", "fast")).toEqual({ code: 2, err: expect.stringContaining("--baud expects a baud rate") });
  expect(run("hearth-io", "--replay", file)).toEqual({ code: 2, err: expect.stringContaining("name a model or --replay a capture, not both") });
  expect(run("hearth-io", "--loop")).toEqual({ code: 2, err: expect.stringContaining("--loop go with --replay CAPTURE") });
});

test("a replay plays only while someone reads: it waits with more than UNREAD_LIMIT bytes unread, and goes on once they are read", async () => {
  const file = capture("big.log", "y".repeat(4 * UNREAD_LIMIT));
  let reading = false;
  let unread = 0;
  let looks = 0;
  let written = 0;
  const player = new ReplaySimulator(
    {
      write: (bytes) => {
        written += bytes.length;
        if (!reading) unread += bytes.length;
      },
      unread: () => {
        looks++;
        return unread;
      },
    },
    { file, rate: { baud: 4_000_000 } },
  );
  cleanups.push(() => player.stop());
  player.start();
  await until(() => written > UNREAD_LIMIT, "the first kilobyte played");
  const held = written;
  const looked = looks;
  await until(() => looks >= looked + 4, "the player looking again for a reader");
  expect(written).toBe(held); // it looked, and played nothing more
  expect(held).toBeLessThanOrEqual(UNREAD_LIMIT + 256); // at most one piece past the limit
  // Someone opens the port and reads all that comes.
  reading = true;
  unread = 0;
  await player.finished;
  expect(written).toBe(4 * UNREAD_LIMIT);
});

test("a device on port: sim plays the capture its model file names, found beside the model file", async () => {
  const dir = tempDir("hearth-model-");
  mkdirSync(join(dir, "captures"));
  copyFileSync(join(root, "devices/nmea-gps/captures/bu353s4.log"), join(dir, "captures", "fix.log"));
  const model = readFileSync(join(root, "devices/nmea-gps/device.yaml"), "utf8")
    .replace("model: nmea-gps", "model: my-gps")
    .replace(/^poll_interval:/m, "simulator:\n  replay: captures/fix.log\n  rate: 400\npoll_interval:");
  const file = join(dir, "my-gps.yaml");
  writeFileSync(file, model);
  const definition = checkedDefinition(Bun.YAML.parse(model), file);
  expect(definition.simulator).toEqual({ replay: "captures/fix.log", rate: 400, loop: false });
  const entry: CatalogueModel = { definition, source: file, simulator: replaySimulatorOf(definition, file) };
  const { hub, stop } = await deviceHub([{ id: "gps", model: "my-gps", port: "sim", options: {} }], { catalogue: catalogueOf([entry]) });
  cleanups.push(stop);
  // The capture's last fix (devices/nmea-gps/README.md): 37°47.0877'S 175°18.8941'E, 60.2 m, 12 satellites in view.
  await stateOf(hub, "sensor.gps_utc_time", (s) => s.state === "2014-12-31T03:07:43.000Z", 10_000); // its last GGA
  const states = Object.fromEntries(["latitude", "longitude", "altitude", "satellites_in_view"].map((k) => [k, hub.states.get(`sensor.gps_${k}`)?.state]));
  expect(states).toEqual({ latitude: "-37.784795", longitude: "175.314902", altitude: "60.2", satellites_in_view: "12" });
});

test("sim MODEL --config plays the capture a model file of that configuration names, paced at the model's baud rate", async () => {
  const dir = tempDir("hearth-sim-model-");
  mkdirSync(join(dir, "models", "captures"), { recursive: true });
  const lines = Array.from({ length: 20 }, (_, i) => `R p=${i}\n`).join("");
  writeFileSync(join(dir, "models", "captures", "meter.log"), lines);
  writeFileSync(
    join(dir, "models", "meter.yaml"),
    "model: my-meter\nname: Meter\nmanufacturer: tests\nprotocol: line\nserial: { baud: 115200 }\nsimulator: { replay: captures/meter.log }\nline: { report: '^R (?<fields>.*)$' }\nentities:\n  - { key: power, kind: sensor, read: p }\n",
  );
  writeFileSync(join(dir, "hearth.yaml"), "devices: []\n");
  const child = Bun.spawn([bun, join(root, "src/cli.ts"), "sim", "my-meter", "--config", join(dir, "hearth.yaml")], { cwd: root, stdout: "pipe", stderr: "pipe" });
  cleanups.push(() => {
    child.kill("SIGKILL");
  });
  const out = new OutputReader(child.stdout);
  await out.waitFor("\n");
  const got = await receive(await open(out.text.trim()), lines.length);
  expect(new TextDecoder().decode(got)).toBe(lines);
  child.kill("SIGINT");
  expect(await child.exited).toBe(0);

  // Without the configuration, the model is not known, and sim says which ones are.
  const unknown = Bun.spawn([bun, join(root, "src/cli.ts"), "sim", "my-meter"], { cwd: dir, stdout: "pipe", stderr: "pipe" });
  expect(await unknown.exited).toBe(2);
  expect(await new Response(unknown.stderr).text()).toContain("hearth sim: name a model with a simulator: hearth-io");
});
