import { afterEach, expect, test } from "bun:test";
import { openPty, type Pty } from "../../src/serial/pty.ts";
import { SOIL_MODEL, soilSentence, writeModel } from "../helpers/model-files.ts";
import { broker, cleanUpAfterEach, configFile, hearth, peer, yaml } from "../mqtt/helpers.ts";
import { promtoolCheck, sample, scrape, scrapeUntil } from "./scrape.ts";

// GET /metrics of a real hearth (the service on a real Mosquitto, its web server on a free port of
// 127.0.0.1), scraped over real HTTP and checked by Prometheus's own promtool.
cleanUpAfterEach();

const ptys: Pty[] = [];
afterEach(async () => {
  for (const pty of ptys.splice(0)) await pty.close();
});

const HTTP = "http:\n  listen: 127.0.0.1:0\n";
const BOARD = '{device="board",model="hearth-io"}';

test("/metrics passes promtool check metrics, and its figures move as a simulated board reports and a command runs over MQTT", async () => {
  const b = await broker();
  const user = await peer(b.url);
  const { service } = await hearth(configFile(yaml(b.url, ["board"], HTTP)));
  const base = service.http!.url;
  expect(base.hostname).toBe("127.0.0.1");
  expect(base.port).not.toBe("8099");

  // promtool does find fault with a text that breaks the conventions (a counter without _total)…
  expect((await promtoolCheck("# HELP hearth_x x\n# TYPE hearth_x counter\nhearth_x 1\n")).code).not.toBe(0);
  // …and none with hearth's.
  const first = await scrape(base);
  const check = await promtoolCheck(first);
  expect(check.said).toBe("");
  expect(check.code).toBe(0);
  for (const family of [
    "hearth_loop_lag_seconds_count",
    "hearth_executor_queued_jobs",
    "hearth_mqtt_connected",
    "process_resident_memory_bytes",
    "process_cpu_seconds_total",
    "process_start_time_seconds",
  ]) {
    expect(sample(first, family)).toBeNumber();
  }
  expect(sample(first, "process_start_time_seconds")).toBeLessThanOrEqual(Date.now() / 1000);

  // The simulated board says hello and answers polls: frames and their bytes are counted.
  let text = await scrapeUntil(base, (t) => sample(t, "hearth_device_available", BOARD) === 1 && (sample(t, "hearth_device_frames_total", BOARD) ?? 0) > 0, "the board available, its frames counted");
  expect(sample(text, "hearth_device_received_bytes_total", BOARD)).toBeGreaterThan(0);
  expect(sample(text, "hearth_mqtt_connected")).toBe(1);
  expect(sample(text, "hearth_device_reboots_total", BOARD)).toBeGreaterThanOrEqual(1); // its hello
  expect(sample(text, "hearth_device_running", BOARD)).toBe(1);
  const frames = sample(text, "hearth_device_frames_total", BOARD)!;
  const received = sample(text, "hearth_mqtt_messages_received_total")!;
  expect(sample(text, "hearth_device_commands_total", BOARD)).toBe(0);

  // A command from MQTT: counted, timed in the histogram, and its reply is one more frame.
  await user.publish("hearth/test/board/set/relay1", "ON");
  await user.next("hearth/test/board", (p) => JSON.parse(p).relay1 === "ON");
  text = await scrape(base);
  expect(sample(text, "hearth_device_commands_total", BOARD)).toBe(1);
  expect(sample(text, "hearth_device_command_failures_total", BOARD)).toBe(0);
  expect(sample(text, "hearth_device_command_duration_seconds_count", BOARD)).toBe(1);
  expect(sample(text, "hearth_device_command_duration_seconds_sum", BOARD)).toBeGreaterThan(0);
  expect(sample(text, `hearth_device_command_duration_seconds_bucket`, '{device="board",model="hearth-io",le="+Inf"}')).toBe(1);
  expect(sample(text, "hearth_device_frames_total", BOARD)).toBeGreaterThan(frames);
  expect(sample(text, "hearth_mqtt_messages_received_total")).toBeGreaterThan(received);
  expect((await promtoolCheck(text)).code).toBe(0);
});

test("/metrics counts a line device's garbage, its checksum failures apart, and its bad values", async () => {
  const b = await broker();
  const user = await peer(b.url);
  // A sensor on a real pty whose other end the test plays.
  const pty = openPty();
  ptys.push(pty);
  const file = configFile(
    `node_id: test\nshutdown: { shutdown_jobs: 2, cancel: 2, tracked: 2, final_write: 2, close: 2 }\nmqtt:\n  url: ${b.url}\n  base_topic: hearth/test\n${HTTP}devices:\n  - { id: soil, model: soil, port: ${pty.path} }\n`,
  );
  writeModel(file.dir, "soil.yaml", SOIL_MODEL);
  const { service } = await hearth(file);
  // Spoken until heard: the port may not be read yet when the first line goes out.
  const speaking = setInterval(() => void pty.write(soilSentence("SOIL,41.5")), 200);
  try {
    await user.next("hearth/test/soil", (p) => JSON.parse(p).moisture === 41.5);
  } finally {
    clearInterval(speaking);
  }
  const soil = '{device="soil",model="soil"}';
  const before = await scrape(service.http!.url);
  const good = sample(before, "hearth_device_frames_total", soil)!;
  expect(good).toBeGreaterThan(0);
  expect(sample(before, "hearth_device_parse_errors_total", soil)).toBe(0);
  await pty.write("garbage from a loose wire\n");
  await pty.write("$SOIL,99.9*00\n"); // a checksum that fails
  await pty.write(soilSentence("SOIL,140.0")); // sound, but beyond the model's range
  const text = await scrapeUntil(
    service.http!.url,
    (t) => (sample(t, "hearth_device_frames_total", soil) ?? 0) >= good + 3 && (sample(t, "hearth_device_bad_values_total", soil) ?? 0) >= 1,
    "the three lines counted",
  );
  expect(sample(text, "hearth_device_parse_errors_total", soil)).toBe(2);
  expect(sample(text, "hearth_device_checksum_failures_total", soil)).toBe(1);
  expect(sample(text, "hearth_device_bad_values_total", soil)).toBe(1);
  expect(sample(text, "hearth_device_frames_total", soil)).toBe(good + 3);
  expect((await promtoolCheck(text)).code).toBe(0);
});
