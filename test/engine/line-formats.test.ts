/**
 * Firmware hearth was not written for, each played by the test on a real pseudo-terminal: JSON lines with
 * nested fields, CSV with a header line, a sensor that only streams (and goes quiet), commands without ids
 * (a reply matched, and fire and forget), checksums, value mapping.
 */
import { afterEach, expect, test } from "bun:test";
import type { DeviceDefinition } from "../../src/config/device-definition.ts";
import { isHearthError } from "../../src/core/errors.ts";
import { checksumOf } from "../../src/engine/line/checksum.ts";
import type { RawValue } from "../../src/entities/entity.ts";
import { until } from "../helpers/until.ts";
import { deviceHub, stateOf } from "./helpers.ts";
import { catalogueWith, FirmwarePeer, lineDriverOn, modelOf } from "./line-peer.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function peer(delimiter?: string): FirmwarePeer {
  const p = FirmwarePeer.open(delimiter);
  cleanups.push(() => p.close());
  return p;
}

/** A device of `definition` on `port`, run by a device manager as the service runs it. */
async function run(definition: DeviceDefinition, port: string, config: Record<string, unknown> = {}) {
  const h = await deviceHub([{ id: "dev", model: definition.model, port, options: {}, ...config }], { catalogue: catalogueWith(definition) });
  cleanups.push(h.stop);
  return { ...h, device: h.manager.device("dev")! };
}

/** `payload*HH` with the NMEA checksum of what follows the `$`. */
function nmea(payload: string): string {
  return `${payload}*${checksumOf("nmea", payload).toString(16).toUpperCase().padStart(2, "0")}`;
}

/** A weather station printing one JSON object a line; `report`, when given, tells its reports from stray replies. */
const weatherYaml = (report?: string) => `
model: esp-weather
name: ESP32 weather station
manufacturer: example
protocol: line
serial: { baud: 115200 }
line:
  format: json
  fields: [sensors.bme280.temp, sensors.bme280.hum, sensors.bme280.pressure, relay, uptime_ms, state, rssi]
  ${report === undefined ? "" : `report: '${report}'`}
  command: "{body}"
  ok: '^(?<fields>\\{"ok":true.*\\})$'
  error: '^\\{"ok":false,"error":"(?<code>[^"]+)"(?:,"message":"(?<message>[^"]*)")?\\}$'
entities:
  - { key: temperature, kind: sensor, unit: "°C", device_class: temperature, precision: 1, read: sensors.bme280.temp }
  - { key: humidity, kind: sensor, unit: "%", read: sensors.bme280.hum }
  - { key: pressure, kind: sensor, unit: hPa, read: sensors.bme280.pressure, scale: 0.01, no_value: ["-1"] }
  - { key: uptime, kind: sensor, unit: s, read: uptime_ms, scale: 0.001 }
  - { key: heater, kind: sensor, numeric: false, read: state, map: { "0": idle, "1": heating } }
  - { key: signal, kind: sensor, unit: dBm, read: rssi }
  - key: relay
    kind: switch
    read: relay
    map: { "true": "ON", "false": "OFF" }
    write: '{"relay":{value}}'
`;
const weatherStation = modelOf(weatherYaml('^\\{"sensors"'));

test("a JSON-lines firmware: nested fields become the states, scaled and mapped, and a line that is no JSON object is skipped with why", async () => {
  const fw = peer();
  const { hub, device } = await run(weatherStation, fw.path);
  await fw.send('{"sensors":{"bme280":{"temp":21.54,"hum":40.2,"pressure":101325}},"relay":false,"uptime_ms":12345,"state":1,"rssi":null}');
  await stateOf(hub, "sensor.dev_temperature", (s) => s.state === "21.5");
  expect(device.values()).toEqual({ temperature: 21.5, humidity: 40.2, pressure: 1013.25, uptime: 12.345, heater: "heating", signal: null, relay: "OFF" });
  expect(hub.states.get("sensor.dev_temperature")!.attributes.unit_of_measurement).toBe("°C");

  await fw.send('{"sensors":{"bme280":', "[1,2,3]", '{"sensors":{"bme280":{"temp":22.06,"pressure":-1}},"state":0}');
  await stateOf(hub, "sensor.dev_temperature", (s) => s.state === "22.1");
  expect(device.stats.garbage).toBe(2);
  // A path the line lacks changes nothing; the entity's no_value makes its state unknown.
  expect(device.values()).toMatchObject({ humidity: 40.2, pressure: null, heater: "idle", relay: "OFF" });
});

test("a JSON-lines firmware's skipped lines say why, as `hearth try` shows them", async () => {
  const fw = peer();
  const { record } = await lineDriverOn(modelOf(weatherYaml()), fw, cleanups); // every line a report
  await fw.send('{"sensors":', "[1,2]", '"text"', "hello there", '{"sensors":{"bme280":{"temp":20}}}');
  await until(() => record.reports.length === 1, "the good line read");
  expect(record.garbage.map((g) => g.line)).toEqual(['{"sensors":', "[1,2]", '"text"', "hello there"]);
  expect(record.garbage[0]!.why).toStartWith("not a JSON object: "); // and the parser's words
  expect(record.garbage[1]!.why).toBe("not a JSON object: an array");
  expect(record.garbage[2]!.why).toBe("not a JSON object: a string");
  expect(record.garbage[3]!.why).toStartWith("not a JSON object: ");
  expect(record.reports[0]).toEqual(new Map([["temperature", 20]]));
});

test("commands without ids: the next reply completes the one command waiting, an error reply rejects it, a second reply is garbage", async () => {
  const fw = peer();
  const { hub, device } = await run(weatherStation, fw.path);
  await fw.send('{"sensors":{"bme280":{"temp":20}},"relay":false}');
  await stateOf(hub, "switch.dev_relay", (s) => s.state === "off");

  fw.answer = (line) => (line === '{"relay":true}' ? ['{"ok":true,"relay":true}', '{"ok":true,"relay":false}'] : ['{"ok":false,"error":"busy","message":"relay locked"}']);
  await device.command("relay", "ON");
  expect(fw.received).toEqual(['{"relay":true}']);
  expect(hub.states.get("switch.dev_relay")!.state).toBe("on"); // the reply's fields, read when the command completed
  await until(() => device.stats.garbage === 1, "the second reply counted as garbage");
  expect(hub.states.get("switch.dev_relay")!.state).toBe("on"); // and not read

  const err = await device.command("relay", "OFF").catch((e: unknown) => e);
  expect(fw.received.at(-1)).toBe('{"relay":false}');
  expect(isHearthError(err, "DEVICE_COMMAND_REJECTED")).toBe(true);
  expect((err as Error).message).toBe("dev: busy relay locked");
});

test("commands without ids wait their turn: the second is written only after the first one's reply was read", async () => {
  const fw = peer();
  const { hub, device } = await run(weatherStation, fw.path);
  await fw.send('{"sensors":{"bme280":{"temp":20}},"relay":false}');
  await stateOf(hub, "switch.dev_relay", (s) => s.state === "off");
  const relayWhenSecondArrived: Array<string | undefined> = [];
  fw.answer = (line) => {
    if (line === '{"relay":true}') return ['{"ok":true,"relay":true}'];
    relayWhenSecondArrived.push(hub.states.get("switch.dev_relay")?.state);
    return ['{"ok":true,"relay":false}'];
  };
  await Promise.all([device.command("relay", "ON"), device.command("relay", "OFF")]);
  expect(fw.received).toEqual(['{"relay":true}', '{"relay":false}']);
  expect(relayWhenSecondArrived).toEqual(["on"]); // the first reply was read before the second command went out
  expect(hub.states.get("switch.dev_relay")!.state).toBe("off");
  expect(device.stats.garbage).toBe(0);
});

test("a driver asked for a second command without ids while one waits refuses it (DEVICE_BUSY) instead of sharing the reply", async () => {
  const fw = peer();
  const { driver, entities } = await lineDriverOn(weatherStation, fw, cleanups);
  const relay = entities.get("relay")!;
  const first = driver.execute(relay, { action: "turn_on" }, AbortSignal.timeout(5000));
  const second = await driver.execute(relay, { action: "turn_off" }, AbortSignal.timeout(5000)).catch((e: unknown) => e);
  expect(isHearthError(second, "DEVICE_BUSY")).toBe(true);
  await until(() => fw.received.length === 1, "the first command written");
  await fw.send('{"ok":true,"relay":true}');
  await first;
  expect(fw.received).toEqual(['{"relay":true}']);
});

const dustSensor = modelOf(`
model: pms-logger
name: PMS5003 logger
manufacturer: example
protocol: line
line:
  format: csv
  csv: { separator: ",", header: '^time,' }
entities:
  - { key: pm1_0, kind: sensor, unit: "µg/m³", read: pm1_0 }
  - { key: pm2_5, kind: sensor, unit: "µg/m³", read: pm2_5 }
  - { key: pm10, kind: sensor, unit: "µg/m³", read: pm10 }
  - { key: seconds, kind: sensor, unit: s, read: 1 }
`);

test("a CSV firmware with a header line: rows are read by the header's names, and follow a header that reorders them", async () => {
  const fw = peer();
  const { record } = await lineDriverOn(dustSensor, fw, cleanups);
  await fw.send("12,3,5,8");
  await until(() => record.garbage.length === 1, "the row before any header skipped");
  expect(record.garbage[0]!.why).toBe("no header line seen yet, and the model names no columns");

  await fw.send("time,pm1_0,pm2_5,pm10", "13,3,5,8", "14, 4, 6");
  await until(() => record.reports.length === 1 && record.garbage.length === 2, "the row read and the short row skipped");
  expect(record.logged).toEqual(["Header line: the columns are time, pm1_0, pm2_5, pm10"]);
  expect(record.reports[0]).toEqual(
    new Map([
      ["seconds", "13"],
      ["pm1_0", "3"],
      ["pm2_5", "5"],
      ["pm10", "8"],
    ]),
  );
  expect(record.garbage[1]).toEqual({ line: "14, 4, 6", why: "row has 3 fields, the header has 4" });

  // A firmware update moves the columns: the header says so, and the names still find them.
  await fw.send("time,pm10,pm2_5,pm1_0,temp", "15,9,6,4,21.5");
  await until(() => record.reports.length === 2, "the row of the new layout read");
  expect(record.reports[1]).toEqual(
    new Map([
      ["seconds", "15"],
      ["pm1_0", "4"],
      ["pm2_5", "6"],
      ["pm10", "9"],
    ]),
  );

  // A header without a column the model reads is refused, and the columns known stay.
  await fw.send("time,pm1_0,pm10", "16,10,7,5,22");
  await until(() => record.reports.length === 3, "the row read by the columns kept");
  expect(record.garbage[2]!.why).toBe('the header has no column "pm2_5", which the model reads; keeping the columns time, pm10, pm2_5, pm1_0, temp');
  expect(record.reports[2]!.get("pm2_5")).toBe("7");
});

test("a CSV firmware's readings reach the states through the device, numbers made of the fields", async () => {
  const fw = peer();
  const { hub, device } = await run(dustSensor, fw.path);
  await fw.send("time,pm1_0,pm2_5,pm10", "100,3,5,8", "bad,row");
  await stateOf(hub, "sensor.dev_pm2_5", (s) => s.state === "5");
  expect(device.values()).toEqual({ pm1_0: 3, pm2_5: 5, pm10: 8, seconds: 100 });
  await until(() => device.stats.garbage === 1, "the bad row counted");
});

const soilProbe = modelOf(`
model: soil-probe
name: Soil probe
manufacturer: example
protocol: line
line:
  format: regex
  checksum: nmea
  report: '^\\$SOIL,(?<moisture>[\\d.]+),(?<temp>-?[\\d.]+),(?<state>wet|dry)$'
poll_interval: 0.2
timeout: 0.2
entities:
  - { key: moisture, kind: sensor, unit: "%", read: moisture, min: 0, max: 100 }
  - { key: temperature, kind: sensor, unit: "°C", read: temp, offset: -40 }
  - { key: wet, kind: binary_sensor, device_class: moisture, read: state, map: { wet: "ON", dry: "OFF" } }
`);

test("a streaming-only sensor with NMEA checksums: good lines are read, a bad or missing checksum is skipped with why", async () => {
  const fw = peer();
  const { record } = await lineDriverOn(soilProbe, fw, cleanups);
  const good = nmea("$SOIL,41.5,61.2,wet");
  const bad = `${good.slice(0, -2)}${good.endsWith("00") ? "01" : "00"}`;
  await fw.send(bad, "$SOIL,41.5,61.2,wet", "$SOIL,41.5,61.2,wet*zz", good);
  await until(() => record.reports.length === 1, "the good line read");
  expect(record.garbage.map((g) => g.why)).toEqual([
    `bad checksum: expected ${good.slice(-2)}, got ${bad.slice(-2)}`,
    "no checksum (the line should end in *hh)",
    'no checksum: expected 2 hex digits after "*", got "zz"',
  ]);
  expect(record.reports[0]).toEqual(
    new Map<string, RawValue>([
      ["moisture", "41.5"],
      ["temperature", 21.2],
      ["wet", "ON"],
    ]),
  );
});

test("a streaming-only sensor becomes unavailable when it goes quiet, and available again when its lines come back", async () => {
  const fw = peer();
  const { hub, device } = await run(soilProbe, fw.path);
  const available = () => device.available;
  await fw.send(nmea("$SOIL,41.5,61.2,wet"));
  await stateOf(hub, "binary_sensor.dev_wet", (s) => s.state === "on");
  expect(hub.states.get("sensor.dev_temperature")!.state).toBe("21.2");
  // While it streams it stays available through several poll intervals.
  const streaming = setInterval(() => void fw.send(nmea("$SOIL,40.0,60.0,dry")), 50);
  await stateOf(hub, "binary_sensor.dev_wet", (s) => s.state === "off");
  const polls = device.stats.polls;
  await until(() => device.stats.polls >= polls + 4, "four more polls");
  expect(available()).toBe(true);
  clearInterval(streaming);
  await stateOf(hub, "sensor.dev_moisture", (s) => s.state === "unavailable", 10_000);
  expect(device.unavailableReason).toContain("exchanges in a row got no answer");
  await fw.send(nmea("$SOIL,39.0,59.0,wet"));
  await stateOf(hub, "sensor.dev_moisture", (s) => s.state === "39.0" || s.state === "39");
  expect(available()).toBe(true);
});

const relayBoard = modelOf(`
model: relay-board
name: Relay board
manufacturer: example
protocol: line
line:
  format: kv
  kv: { separator: ",", assign: ":" }
  fields: [relay, fan, door]
  report: '^STATE (?<fields>.*)$'
  command: "{body}"
  checksum: { algorithm: crc16-modbus, separator: "*", commands: true }
entities:
  - { key: relay, kind: switch, read: relay, write: "RELAY {value}", map: { "on": "ON", "off": "OFF" } }
  - { key: fan, kind: number, min: 0, max: 100, step: 5, unit: "%", read: fan, scale: 0.5, write: "FAN {value}" }
  - { key: door, kind: binary_sensor, device_class: door, read: door, map: { open: "ON", closed: "OFF" } }
`);

/** `text*HHHH` with the CRC-16/MODBUS of `text`. */
function crcLine(text: string): string {
  return `${text}*${checksumOf("crc16-modbus", text).toString(16).toUpperCase().padStart(4, "0")}`;
}

test("fire and forget: a command is written with its checksum and completes at once; the next report confirms the state", async () => {
  const fw = peer();
  const { hub, device } = await run(relayBoard, fw.path);
  await fw.send(crcLine("STATE relay:off, fan:40, door:closed"), "STATE relay:on*0000");
  await stateOf(hub, "number.dev_fan", (s) => s.state === "20");
  expect(device.values()).toEqual({ relay: "OFF", fan: 20, door: "OFF" });

  await device.command("relay", "ON"); // no reply: done once written
  await device.command("fan", 35);
  await until(() => fw.received.length === 2, "both commands received");
  expect(fw.received).toEqual([crcLine("RELAY on"), crcLine("FAN 70")]);
  expect(hub.states.get("switch.dev_relay")!.state).toBe("off"); // nothing said so yet
  await fw.send(crcLine("STATE relay:on, fan:70, door:open"));
  await stateOf(hub, "switch.dev_relay", (s) => s.state === "on");
  expect(device.values()).toEqual({ relay: "ON", fan: 35, door: "ON" });
  await until(() => device.stats.garbage === 1, "the line with a bad CRC counted");
  // A value outside the number's range is refused before anything is written.
  expect(isHearthError(await device.command("fan", 120).catch((e: unknown) => e), "COMMAND_INVALID")).toBe(true);
  expect(fw.received).toHaveLength(2);
});

test("a device without ids that answers a command with a plain reply line, its fields in kv", async () => {
  const model = modelOf(`
model: plain-reply
name: Plain reply
manufacturer: example
protocol: line
line:
  report: '^T (?<fields>.*)$'
  command: "{body}"
  ok: '^OK(?: (?<fields>.*))?$'
  error: '^ERR (?<code>\\S+)(?: (?<message>.*))?$'
  poll: READ
entities:
  - { key: level, kind: number, min: 0, max: 10, read: lvl, write: "LVL {value}" }
`);
  const fw = peer();
  fw.answer = (line) => (line === "READ" ? ["OK lvl=3"] : line.startsWith("LVL ") ? [`OK lvl=${line.slice(4)}`] : []);
  const { hub, device } = await run(model, fw.path);
  await stateOf(hub, "number.dev_level", (s) => s.state === "3"); // the poll's reply
  await device.command("level", 7);
  expect(hub.states.get("number.dev_level")!.state).toBe("7");
  expect(fw.received).toContain("LVL 7");
});

test("a poll on a device without replies sends the poll line and is answered by the next report; silence fails it at the timeout", async () => {
  const model = modelOf(`
model: ask-and-tell
name: Ask and tell
manufacturer: example
protocol: line
line:
  format: kv
  report: '^STATUS (?<fields>.*)$'
  command: "{body}"
  poll: "?"
entities:
  - { key: level, kind: sensor, read: lvl }
`);
  const fw = peer();
  const { driver, record } = await lineDriverOn(model, fw, cleanups);
  fw.answer = (line) => (line === "?" ? ["noise", "STATUS lvl=4"] : []);
  await driver.poll(AbortSignal.timeout(5000));
  expect(fw.received).toEqual(["?"]);
  expect(record.reports).toEqual([new Map([["level", "4"]])]);
  expect(record.garbage).toEqual([{ line: "noise", why: "no pattern matched" }]);
  fw.answer = () => [];
  const silent = await driver.poll(AbortSignal.timeout(100)).catch((e: unknown) => e);
  expect((silent as Error).name).toBe("TimeoutError");
  await until(() => fw.received.length === 2, "the second poll line received");
  expect(fw.received).toEqual(["?", "?"]);
});
