import { afterEach, expect, test } from "bun:test";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { HearthIoSimulator } from "../../devices/hearth-io/simulator.ts";
import { type SimulatedPort, startSimulator } from "../../src/engine/configured-ports.ts";
import { OutputReader } from "../helpers/output-reader.ts";
import { tempDir } from "../helpers/temp.ts";

const root = join(import.meta.dir, "..", "..");
const bun = process.execPath;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Waits for `what` in a child's output, failing with all of it after `ms` (a deadline, not a sleep). */
async function shows(reader: OutputReader, what: string | RegExp, ms = 10_000): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms / 1000} s in:\n${reader.text}`)), ms);
  });
  try {
    await Promise.race([reader.waitFor(what), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** `hearth try …` as a child process, its output read as it comes. */
function hearthTry(args: string[], stdin: "pipe" | "ignore" = "pipe") {
  const child = Bun.spawn([bun, join(root, "src/cli.ts"), "try", ...args], { cwd: root, stdin, stdout: "pipe", stderr: "pipe" });
  cleanups.push(() => {
    child.kill("SIGKILL");
  });
  const out = new OutputReader(child.stdout);
  const err = new OutputReader(child.stderr);
  const type = (line: string) => {
    if (stdin !== "pipe") throw new Error("no stdin to type on");
    (child.stdin as import("bun").FileSink).write(`${line}\n`);
    (child.stdin as import("bun").FileSink).flush();
  };
  return { child, out, err, type };
}

/** A hearth-io board on a pseudo-terminal in this process, quiet until told to speak (no telemetry timer within a test). */
function board(): { board: HearthIoSimulator; port: SimulatedPort } {
  let made: HearthIoSimulator | undefined;
  const port = startSimulator((p) => {
    made = new HearthIoSimulator(p, { interval: 3_600_000 });
    return made;
  });
  cleanups.push(() => port.stop());
  return { board: made!, port };
}

test("try shows each line of a hearth-io board and what it set; garbage and out-of-range readings as skipped, with why", async () => {
  const { board: io, port } = board();
  const { child, out } = hearthTry(["devices/hearth-io/device.yaml", "--port", port.pty.path]);
  await shows(out, `hearth try: hearth-io (hearth-io board, line protocol) on ${port.pty.path} at 115200 baud 8N1; polls every 30 s`);
  await shows(out, "<- HELLO hearth-io fw=1.0.0 proto=1\n   hello: model hearth-io, version 1.0.0");
  // The first poll: GET, and its reply's fields as the entities' values, units and all.
  await shows(out, /-> \d+ GET\n/);
  await shows(out, /<- OK \d+ temp=21\.5 hum=45\.0 btn=0 r1=0 r2=0 led=0 up=\d+\n {3}reply set temperature = 21\.5 °C, humidity = 45 %, button = OFF, relay1 = OFF/);
  await shows(out, "device available");

  io.sendGarbage("\x01what is this\r\n");
  await shows(out, "<- \\x01what is this\n   skipped the line: no pattern matched\n");
  io.sendGarbage("T temp=99.0 hum=50.0\r\n");
  await shows(out, `<- T temp=99.0 hum=50.0\n   skipped temperature = "99.0": above the model's maximum of 80\n   set humidity = 50 %\n`);
  io.setButton(true);
  await shows(out, "<- E btn=1\n   set button = ON\n");

  child.kill("SIGINT");
  expect(await child.exited).toBe(0);
  expect(out.text).toStartWith(`hearth try: hearth-io`);
  expect(out.text).toEndWith("port closed\nstopped\n");
});

test("a command typed on try's stdin is sent as hearth sends it, its reply and the new state shown; mistakes are refused, naming what was meant", async () => {
  const { board: io, port } = board();
  const { child, out, type } = hearthTry(["devices/hearth-io/device.yaml", "--port", port.pty.path]);
  await shows(out, "device available");

  type("relay1 ON");
  // The reply's fields are reported once the exchange is done: the board's telemetry line may come between.
  await shows(out, /-> (\d+) SET r1=1\n<- OK \1 r1=1\n/);
  await shows(out, /\n {3}reply set relay1 = ON\nok: relay1 ON\n/);
  expect(io.relay1).toBe(true);
  expect(io.received.at(-1)).toMatch(/^\d+ SET r1=1$/);

  type("led ON 128");
  await shows(out, /-> \d+ SET led=128\n/);
  await shows(out, "ok: led ON 128");
  expect(io.led).toBe(128);

  type("relai1 OFF");
  await shows(out, 'refused: no entity "relai1"; did you mean "relay1"? (help lists the commands)');
  type("relay1 MAYBE");
  await shows(out, 'refused: relay1: expected ON, OFF or TOGGLE, got "MAYBE"');
  type("temperature 5");
  await shows(out, "refused: temperature: a sensor is read-only");
  type("help");
  await shows(out, /commands:\n {2}relay1 ON\|OFF\|TOGGLE +switch it\n/);
  await shows(out, "  read-only: temperature, humidity, button, uptime");

  // A board that does not answer: the command times out as hearth's would (the model's 2 s).
  io.mute = true;
  type("relay2 ON");
  await shows(out, /failed: relay2 ON: .*no reply within 2 s/);
  io.mute = false;

  type("restart");
  await shows(out, /-> \d+ RESET\n<- OK \d+\n/);
  await shows(out, "ok: restart");
  await shows(out, "<- HELLO hearth-io fw=1.0.0 proto=1\n   hello: model hearth-io");
  // Only what was typed went out, nothing refused reached the board.
  expect(io.received.filter((l) => !/^\d+ GET$/.test(l)).map((l) => l.replace(/^\d+ /, ""))).toEqual(["SET r1=1", "SET led=128", "SET r2=1", "RESET"]);

  child.kill("SIGINT");
  expect(await child.exited).toBe(0);
  expect(out.text).toContain("port closed\n");
});

test("the end of try's stdin stops nothing: it keeps watching until SIGTERM", async () => {
  const { board: io, port } = board();
  const { child, out, err } = hearthTry(["devices/hearth-io/device.yaml", "--port", port.pty.path, "--json", "--no-poll"], "ignore");
  await shows(err, "end of standard input: no more commands are read; Ctrl-C stops");
  await shows(out, '"event":"availability","available":true');
  io.sendGarbage("T temp=19.5\r\n");
  await shows(out, '{"event":"line","text":"T temp=19.5"}\n{"event":"set","values":{"temperature":19.5},"units":{"temperature":"°C"}}\n');
  // --no-poll: nothing was sent to the board.
  expect(io.received).toEqual([]);
  child.kill("SIGTERM");
  expect(await child.exited).toBe(0);
  const events = out.text
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { event: string; state?: string });
  expect(events.at(-2)).toEqual({ event: "link", state: "closed" });
  expect(events.at(-1)).toEqual({ event: "stopped" });
});

test("try on an NMEA model against a replayed capture shows the receiver's fix as the capture has it", async () => {
  const sim = Bun.spawn([bun, join(root, "src/cli.ts"), "sim", "--replay", "devices/nmea-gps/captures/bu353s4.log", "--baud", "115200"], { cwd: root, stdout: "pipe", stderr: "pipe" });
  cleanups.push(() => {
    sim.kill("SIGKILL");
  });
  const simOut = new OutputReader(sim.stdout);
  const simErr = new OutputReader(sim.stderr);
  await shows(simOut, "\n");
  const path = simOut.text.trim();
  const { child, out } = hearthTry(["devices/nmea-gps/device.yaml", "--port", path, "--json"], "ignore");
  await shows(simErr, "played all of devices/nmea-gps/captures/bu353s4.log");
  // The capture's last sentence, and what came of it.
  await shows(out, '{"event":"line","text":"$GPRMC,030743.000,A,3747.0877,S,17518.8941,E,0.00,181.39,311214,,,A*77"}');
  child.kill("SIGINT");
  expect(await child.exited).toBe(0);
  const events = out.text
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { event: string; values?: Record<string, unknown>; why?: string });
  const last: Record<string, unknown> = {};
  for (const e of events) if (e.event === "set") Object.assign(last, e.values);
  // The README's facts: last fix 37°47.0877'S 175°18.8941'E, 60.2 m, 7 satellites used, 12 in view, HDOP 1.1, course 181.39°.
  expect(last).toMatchObject({ latitude: -37.784795, longitude: 175.314902, altitude: 60.2, satellites_used: 7, satellites_in_view: 12, hdop: 1.1, course: 181.4, fix_quality: "gps" });
  expect(events.filter((e) => e.event === "garbage")).toEqual([]); // the recorder's # notes were not played
  sim.kill("SIGINT");
  expect(await sim.exited).toBe(0);
});

test("try says why when the port cannot be opened (exit 1) and when the model file is bad (exit 2, naming the file and the path in it)", async () => {
  const missing = hearthTry(["devices/hearth-io/device.yaml", "--port", "/dev/does-not-exist"], "ignore");
  expect(await missing.child.exited).toBe(1);
  expect(await missing.err.done).toContain("hearth try: cannot open /dev/does-not-exist");

  const dir = tempDir("hearth-try-");
  const file = join(dir, "board.yaml");
  writeFileSync(file, "model: board\nname: Board\nmanufacturer: me\nprotocol: line\nline:\n  report: '^T (?<fields>.*)$'\n  ok: '^OK'\n  error: '^ERR'\nentities:\n  - key: temp\n    kind: sensr\n");
  const bad = hearthTry([file, "--port", "/dev/null"], "ignore");
  expect(await bad.child.exited).toBe(2);
  const text = await bad.err.done;
  expect(text).toContain(`${file}: entities[0].kind`);

  const none = hearthTry([join(dir, "nothing.yaml"), "--port", "/dev/null"], "ignore");
  expect(await none.child.exited).toBe(2);
  expect(await none.err.done).toContain(`${join(dir, "nothing.yaml")}: cannot read the file`);
});

test("try --port sim plays the capture the model file names; a capture that is not there is a bad model file", async () => {
  const dir = tempDir("hearth-try-sim-");
  copyFileSync(join(root, "devices/nmea-gps/captures/neo-m8n.log"), join(dir, "m8n.log"));
  const yaml = readFileSync(join(root, "devices/nmea-gps/device.yaml"), "utf8").replace(/^poll_interval:/m, "simulator:\n  replay: m8n.log\n  rate: 1000\npoll_interval:");
  writeFileSync(join(dir, "gps.yaml"), yaml);
  const { child, out } = hearthTry([join(dir, "gps.yaml"), "--port", "sim", "--json"], "ignore");
  // neo-m8n.log (devices/nmea-gps/README.md): GN talker, 12 satellites used, 1139.4 m.
  await shows(out, /"event":"set","values":\{[^}]*"satellites_used":12/);
  await shows(out, /"altitude":1139\.4/);
  child.kill("SIGINT");
  expect(await child.exited).toBe(0);
  expect(JSON.parse(out.text.split("\n")[0]!)).toMatchObject({ event: "start", model: "nmea-gps", port: expect.stringMatching(/^\/dev\/pts\/\d+ \(sim\)$/) });

  writeFileSync(join(dir, "gone.yaml"), yaml.replace("replay: m8n.log", "replay: gone.log"));
  const gone = hearthTry([join(dir, "gone.yaml"), "--port", "sim"], "ignore");
  expect(await gone.child.exited).toBe(2);
  expect(await gone.err.done).toContain(`${join(dir, "gone.yaml")}: simulator.replay: no such file ${join(dir, "gone.log")}`);
});

test("try shows a text protocol's multi-line frames line by line: a VE.Direct block, then what it set", async () => {
  const { child, out } = hearthTry([join(root, "devices", "victron-mppt", "device.yaml"), "--port", "sim"], "ignore");
  await shows(out, /^<- PID\\t0xA0/m);
  await shows(out, /^<- Checksum\\t/m);
  await shows(out, /set [^\n]*battery_voltage = \d+(\.\d+)? V/);
  expect(out.text).not.toMatch(/^<- ([0-9a-f]{2} ){8}/m); // no hex dumps of a text protocol
  child.kill("SIGINT");
  expect(await child.exited).toBe(0);
});
