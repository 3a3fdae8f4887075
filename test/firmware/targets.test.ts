import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { SIMULATORS } from "../../devices/index.ts";
import type { DeviceConfig } from "../../src/config/schema.ts";
import { startSimulator } from "../../src/engine/configured-ports.ts";
import { deviceHub, stateOf } from "../engine/helpers.ts";
import { LineClient } from "../helpers/line-client.ts";
import { buildFirmware, startEmulator } from "../helpers/simavr.ts";
import { tempDir } from "../helpers/temp.ts";
import { until } from "../helpers/until.ts";

// The same cases against both hearth-io targets, so that any difference between the TypeScript simulator
// (devices/hearth-io/simulator.ts, on a pseudo-terminal as `port: sim` runs it) and the real firmware
// (firmware/hearth_io/hearth_io.ino built by Debian's AVR toolchain, run on an emulated ATmega328P by
// simavr, its UART on a pseudo-terminal) fails a test. First the wire (lines written and read on the
// port), then hearth's device engine on each.
//
// simavr has no DHT22 part: the sensor's line floats high and the firmware reads nothing, so against the
// real firmware the no-reading path is what is tested (`temp=nan hum=nan`, unknown in hearth). The
// simulator is started with no reading too (NaN), so both say `nan` and their lines compare exactly;
// only `up=` (seconds since boot, on each target's own clock) is compared by its shape.

const BAUD = 115_200;
const HELLO = "HELLO hearth-io fw=1.0.0 proto=1";
const NO_ID = "ERR - no_id a command starts with an id 1-65535";
const TOO_LONG = "ERR - too_long line over 64 bytes";
const BAD_INTERVAL = "bad_value interval must be 500-3600000 ms";
/** The simulator's options for a board whose sensor gives no reading, as the emulated one. */
const NO_READING = { temperature: Number.NaN, humidity: Number.NaN };
/** The link simavr's uart_pty makes; the harness removes it when it ends. */
const UART_LINK = "/tmp/simavr-uart0";

/** A board just powered on, its UART on the pseudo-terminal `path`. */
interface Board {
  readonly path: string;
  stop(): Promise<void>;
}

/** One of the two things that play a hearth-io board. */
interface Target {
  readonly name: string;
  /** Powers on a fresh board. */
  start(): Promise<Board>;
  /** How hearth's engine is configured to reach a fresh board (started here if it must be), and how to end it. */
  device(): Promise<{ config: Partial<DeviceConfig>; stop(): Promise<void> }>;
}

const simulator: Target = {
  name: "TypeScript simulator",
  async start() {
    const sim = startSimulator(SIMULATORS["hearth-io"]!, NO_READING);
    return { path: sim.pty.path, stop: () => sim.stop() };
  },
  // `port: sim`, as a user runs it: hearth starts the simulator on a pseudo-terminal of its own.
  async device() {
    return { config: { port: "sim", options: NO_READING }, stop: async () => {} };
  },
};

const firmware: Target = {
  name: "real firmware on simavr",
  async start() {
    // Built each time into a folder of its own (removed after the test); the emulator has read the image by then.
    const { elf, harness } = await buildFirmware(tempDir("hearth-targets-"));
    const board = await startEmulator(harness, [elf]);
    return { path: board.pty, stop: () => board.stop() };
  },
  async device() {
    const board = await this.start();
    return { config: { port: board.path, options: {} }, stop: () => board.stop() };
  },
};

const TARGETS = [simulator, firmware].map((t) => [t.name, t] as const);

afterAll(() => {
  expect(existsSync(UART_LINK)).toBe(false);
});

/** A telemetry line's fields (a `T` line, or a GET's reply) for these outputs, with no sensor reading; `up=` as `<n>`. */
function fields(outputs: { r1?: number; r2?: number; led?: number } = {}): string {
  return `temp=nan hum=nan btn=0 r1=${outputs.r1 ?? 0} r2=${outputs.r2 ?? 0} led=${outputs.led ?? 0} up=<n>`;
}

/** `line` with its uptime, the one field that differs by when it was sent, as `<n>`. */
function shape(line: string | undefined): string | undefined {
  return line?.replace(/ up=\d+$/, " up=<n>");
}

const isTelemetry = (line: string) => line.startsWith("T ");

/** Commands and their replies, exactly, the same on both targets. */
const EXCHANGES: Array<[what: string, command: string, reply: string]> = [
  ["PING answers pong", "1 PING", "OK 1 pong"],
  ["the highest id is taken", "65535 PING", "OK 65535 pong"],
  ["words apart by two spaces are still words", "2  PING", "OK 2 pong"],
  ["an unknown command word is bad_command", "3 FROB", "ERR 3 bad_command FROB"],
  ["a command word in lower case is bad_command", "4 ping", "ERR 4 bad_command ping"],
  ["an id with no command is bad_command", "5", "ERR 5 bad_command missing command"],
  ["SET of an unknown key is bad_field", "6 SET r3=1", "ERR 6 bad_field r3"],
  ["SET of a word with no '=' is bad_field", "7 SET r1", "ERR 7 bad_field r1"],
  ["SET with nothing to set is bad_field", "8 SET", "ERR 8 bad_field nothing to set"],
  ["SET of more than four pairs is bad_field", "9 SET r1=0 r2=0 led=0 r1=0 r2=0", "ERR 9 bad_field too many fields"],
  ["SET of a relay to 2 is bad_value", "10 SET r1=2", "ERR 10 bad_value r1"],
  ["SET of the LED over 255 is bad_value", "11 SET led=256", "ERR 11 bad_value led"],
  ["SET of a negative number is bad_value", "12 SET led=-1", "ERR 12 bad_value led"],
  ["SET of a word is bad_value", "13 SET led=abc", "ERR 13 bad_value led"],
  ["SET of a number with a sign is bad_value", "14 SET r2=+1", "ERR 14 bad_value r2"],
  ["SET of nothing after '=' is bad_value", "15 SET r1=", "ERR 15 bad_value r1"],
  ["INTERVAL under 500 ms is bad_value", "16 INTERVAL 499", `ERR 16 ${BAD_INTERVAL}`],
  ["INTERVAL over an hour is bad_value", "17 INTERVAL 3600001", `ERR 17 ${BAD_INTERVAL}`],
  ["INTERVAL of a word is bad_value", "18 INTERVAL soon", `ERR 18 ${BAD_INTERVAL}`],
  ["INTERVAL with no value is bad_value", "19 INTERVAL", `ERR 19 ${BAD_INTERVAL}`],
  ["a line with no id is no_id", "PING", NO_ID],
  ["id 0 is no_id", "0 PING", NO_ID],
  ["id 65536 is no_id", "65536 PING", NO_ID],
  ["an id with a sign is no_id", "+20 PING", NO_ID],
];

describe.each(TARGETS)("on the wire: %s", (_, target) => {
  let board: Board;
  let client: LineClient;

  beforeAll(async () => {
    board = await target.start();
    client = await LineClient.open(board.path, BAUD);
  }, 120_000);

  afterAll(async () => {
    await client?.close();
    await board?.stop();
  });

  /** The reply to `command`, and the line after it once `then` says one follows. */
  async function exchange(command: string, then = false): Promise<[string, string | undefined]> {
    const at = await client.request(command);
    if (then) await client.next(() => true, at + 1, `a line after the reply to ${command}`);
    return [client.lines[at]!, client.lines[at + 1]];
  }

  test("the board's first line is its hello, with the firmware version", async () => {
    await client.next(() => true, 0, "a first line");
    expect(client.lines[0]).toBe(HELLO);
  });

  test("GET answers every telemetry field", async () => {
    const [reply] = await exchange("30 GET");
    expect(shape(reply)).toBe(`OK 30 ${fields()}`);
  });

  test("INTERVAL 500 makes the board report every half second", async () => {
    const [reply] = await exchange("31 INTERVAL 500");
    expect(reply).toBe("OK 31 interval=500");
    const from = client.lines.length;
    await until(() => client.lines.slice(from).filter(isTelemetry).length >= 5, "five reports", 20_000);
    const reports = client.lines.slice(from).filter(isTelemetry).slice(0, 5);
    for (const report of reports) expect(shape(report)).toBe(`T ${fields()}`);
    // Four intervals on the board's own clock (simavr's runs faster than the wall's): about 2 s, where
    // the default 5000 ms would make 20 s.
    const uptime = (line: string) => Number(/ up=(\d+)$/.exec(line)![1]);
    expect(uptime(reports[4]!) - uptime(reports[0]!)).toBeLessThan(10);
    // An hour from now on, so that the only reports in the tests below are the ones a change sends.
    expect((await exchange("32 INTERVAL 3600000"))[0]).toBe("OK 32 interval=3600000");
  }, 30_000);

  test.each(EXCHANGES)("%s", async (_, command, reply) => {
    expect((await exchange(command))[0]).toBe(reply);
  });

  test.each([
    ["r1=1", { r1: 1 }],
    ["r1=0", {}],
    ["r2=1", { r2: 1 }],
    ["r2=0", {}],
    ["led=128", { led: 128 }],
    ["led=0", {}],
  ] as const)("SET %s answers what it set, then a report of the outputs", async (pair, outputs) => {
    const [reply, report] = await exchange(`40 SET ${pair}`, true);
    expect(reply).toBe(`OK 40 ${pair}`);
    expect(shape(report)).toBe(`T ${fields(outputs)}`);
  });

  test("SET of several pairs in one line sets them all, and GET reads them back", async () => {
    const outputs = { r1: 1, r2: 1, led: 255 };
    const [reply, report] = await exchange("41 SET r1=1 r2=1 led=255", true);
    expect(reply).toBe("OK 41 r1=1 r2=1 led=255");
    expect(shape(report)).toBe(`T ${fields(outputs)}`);
    expect(shape((await exchange("42 GET"))[0])).toBe(`OK 42 ${fields(outputs)}`);
    expect((await exchange("43 SET r1=0 r2=0 led=0"))[0]).toBe("OK 43 r1=0 r2=0 led=0");
  });

  test("a SET with one bad pair changes nothing", async () => {
    expect((await exchange("44 SET r1=1 led=999"))[0]).toBe("ERR 44 bad_value led");
    expect(shape((await exchange("45 GET"))[0])).toBe(`OK 45 ${fields()}`);
  });

  test("a line of 64 bytes is taken; one over 64 is too_long, once, and the line after it works", async () => {
    const longest = `46 PING ${"x".repeat(64 - "46 PING ".length)}`;
    expect(longest).toHaveLength(64);
    expect((await exchange(longest))[0]).toBe("OK 46 pong");
    expect((await exchange(`${longest}y`))[0]).toBe(TOO_LONG);
    expect((await exchange("47 PING"))[0]).toBe("OK 47 pong");
    // Far over: still one error for the one line.
    const from = client.lines.length;
    expect((await exchange("y".repeat(300)))[0]).toBe(TOO_LONG);
    expect((await exchange("48 PING"))[0]).toBe("OK 48 pong");
    expect(client.lines.slice(from)).toEqual([TOO_LONG, "OK 48 pong"]);
  });

  // Last: it leaves the board as it boots.
  test("RESET answers OK, the board says its hello again, and its outputs are off", async () => {
    expect((await exchange("49 SET r1=1 r2=1 led=200"))[0]).toBe("OK 49 r1=1 r2=1 led=200");
    const from = client.lines.length;
    const [reply, hello] = await exchange("50 RESET", true);
    expect(reply).toBe("OK 50");
    expect(hello).toBe(HELLO);
    // The button released after the reset too (the harness holds its pin high, as a real pull-up does).
    const [state] = await exchange("51 GET");
    expect(shape(state)).toBe(`OK 51 ${fields()}`);
    // One restart, not a board that keeps restarting.
    expect(client.lines.slice(from).filter((line) => line === HELLO)).toHaveLength(1);
  });
});

describe.each(TARGETS)("through hearth's device engine: %s", (_, target) => {
  let hub: Awaited<ReturnType<typeof deviceHub>>;
  let stopBoard: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const { config, stop } = await target.device();
    stopBoard = stop;
    hub = await deviceHub([{ id: "mcu", ...config }]);
  }, 120_000);

  afterAll(async () => {
    await hub?.stop();
    await stopBoard();
  });

  const device = () => hub.manager.device("mcu")!;
  const state = (entityId: string, predicate: (s: { state: string }) => boolean) => stateOf(hub.hub, entityId, predicate, 20_000);

  test("the hello gives the firmware version; the outputs start off and the sensor has no reading", async () => {
    await state("switch.mcu_relay1", (s) => s.state === "off");
    expect(device().swVersion).toBe("1.0.0");
    expect(hub.hub.states.get("switch.mcu_relay2")?.state).toBe("off");
    expect(hub.hub.states.get("light.mcu_led")?.state).toBe("off");
    // `nan` is no reading: unknown, not a number and not unavailable.
    expect(hub.hub.states.get("sensor.mcu_temperature")?.state).toBe("unknown");
    expect(hub.hub.states.get("sensor.mcu_humidity")?.state).toBe("unknown");
  });

  test.each(["relay1", "relay2"])("%s switches on and off", async (key) => {
    await device().command(key, "ON");
    await state(`switch.mcu_${key}`, (s) => s.state === "on");
    await device().command(key, "OFF");
    await state(`switch.mcu_${key}`, (s) => s.state === "off");
  });

  test("the LED takes brightness 128, then turns off", async () => {
    await device().command("led", { state: "ON", brightness: 128 });
    const led = await stateOf(hub.hub, "light.mcu_led", (s) => s.state === "on", 20_000);
    expect(led.attributes.brightness).toBe(128);
    await device().command("led", "OFF");
    await state("light.mcu_led", (s) => s.state === "off");
  });

  test("a refresh GETs every entity", async () => {
    await device().command("relay2", "ON");
    // It resolves once the board answered the GET (a board that did not would time it out).
    await device().refresh();
    expect(hub.hub.states.get("switch.mcu_relay2")?.state).toBe("on");
    expect(Number(hub.hub.states.get("sensor.mcu_uptime")?.state)).toBeGreaterThanOrEqual(0);
    expect(hub.hub.states.get("sensor.mcu_temperature")?.state).toBe("unknown");
  });

  test("the restart button reboots the board: device_rebooted, and the outputs are off again", async () => {
    await device().command("relay1", "ON");
    await device().command("led", { state: "ON", brightness: 50 });
    const reboots = device().stats.reboots;
    const rebooted = hub.hub.bus.waitFor("device_rebooted", (d) => d.deviceId === "mcu", AbortSignal.timeout(20_000));
    await device().command("restart", "PRESS");
    expect((await rebooted).data.swVersion).toBe("1.0.0");
    await state("switch.mcu_relay1", (s) => s.state === "off");
    await state("switch.mcu_relay2", (s) => s.state === "off");
    await state("light.mcu_led", (s) => s.state === "off");
    // It answers after its restart, and restarted once.
    await device().refresh();
    expect(device().stats.reboots).toBe(reboots + 1);
  });
});
