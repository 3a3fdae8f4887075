import { afterEach, expect, test } from "bun:test";
import { closeSync, constants, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { OutputReader } from "../helpers/output-reader.ts";
import { freePort } from "../mqtt/broker.ts";

const root = join(import.meta.dir, "..", "..");
const bun = process.execPath;
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function hearth(...args: string[]) {
  const result = Bun.spawnSync([bun, join(root, "src/cli.ts"), ...args], { cwd: root, env: { ...process.env, HEARTH_LOG_FORMAT: "json" } });
  return { code: result.exitCode, out: result.stdout.toString(), err: result.stderr.toString() };
}

function yamlFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "hearth-cli-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "hearth.yaml");
  writeFileSync(file, text);
  return file;
}

test("hearth --help lists the commands", () => {
  const { code, out } = hearth("--help");
  expect(code).toBe(0);
  for (const command of ["run", "check-config", "schema", "devices"]) expect(out).toContain(`  ${command}`);
});

test("hearth version prints the package version", async () => {
  const pkg = await Bun.file(join(root, "package.json")).json();
  expect(hearth("version").out.trim()).toBe(pkg.version);
});

test("an unknown command exits 2 with the usage", () => {
  const { code, err } = hearth("frobnicate");
  expect(code).toBe(2);
  expect(err).toContain('unknown command "frobnicate"');
});

test("check-config exits 2 and prints each problem with its path", () => {
  const file = yamlFile("devices:\n  - id: a\n    model: hearth-io\n    port: sim\n  - id: b\n    model: hearth-io\n    port: /dev/ttyUSB0\n    baud: fast\n");
  const { code, err } = hearth("check-config", file);
  expect(code).toBe(2);
  expect(err).toContain(`${file}: invalid`);
  expect(err).toContain('devices[1].baud: expected one of 1200…921600, got "fast"');
});

test("check-config exits 0 with a summary that keeps the password out", () => {
  const file = yamlFile("node_id: attic\nmqtt:\n  url: mqtt://hearth:s3cret@broker.lan:1883\n  password: hunter2\ndevices:\n  - id: board\n    model: hearth-io\n    port: sim\n");
  const { code, out } = hearth("check-config", file);
  expect(code).toBe(0);
  expect(out).toContain("node: attic");
  expect(out).toContain("board: hearth-io on sim");
  expect(out).not.toContain("s3cret");
  expect(out).not.toContain("hunter2");
});

test("run refuses an invalid configuration with exit code 2", () => {
  const file = yamlFile("log_level: loud\n");
  const { code, err } = hearth("run", "--config", file);
  expect(code).toBe(2);
  expect(err).toContain("log_level:");
});

test("schema prints a JSON Schema an editor can use", () => {
  const { code, out } = hearth("schema");
  expect(code).toBe(0);
  const schema = JSON.parse(out);
  expect(schema.$schema).toContain("json-schema.org");
  expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(["node_id", "devices", "mqtt", "executor"]));
  expect(schema.additionalProperties).toBe(false);
});

test("devices lists the known models with their entities", () => {
  const { code, out } = hearth("devices");
  expect(code).toBe(0);
  expect(out).toContain("hearth-io");
  expect(out).toMatch(/switch\s+relay1/);
  expect(out).toMatch(/sensor\s+temperature \[°C\]/);
});

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  test(`run with the embedded defaults starts, and stops cleanly with exit code 0 on ${signal}`, async () => {
    // The embedded broker on a free port, not MQTT's 1883 (which another broker on this machine may hold).
    const port = await freePort();
    const data = mkdtempSync(join(tmpdir(), "hearth-cli-"));
    cleanups.push(() => rmSync(data, { recursive: true, force: true }));
    // Its web server likewise on a free port, not the defaults' 8099.
    const env = { ...process.env, HEARTH_LOG_FORMAT: "json", HEARTH_MQTT_EMBEDDED_PORT: String(port), HEARTH_HTTP_LISTEN: "127.0.0.1:0", HEARTH_DATA_DIR: data };
    const child = Bun.spawn([bun, join(root, "src/cli.ts"), "run"], { cwd: root, env, stdout: "pipe", stderr: "pipe" });
    const stdout = new OutputReader(child.stdout);
    await stdout.waitFor("hearth is running");
    // The start log says where the web console and /metrics are, and they answer there.
    const served = /"msg":"Web console and \/metrics on (http:\/\/127\.0\.0\.1:\d+\/)"/.exec(stdout.text);
    expect(served).not.toBeNull();
    expect((await fetch(new URL("/metrics", served![1]))).status).toBe(200);
    // The embedded defaults run a simulated hearth-io board: its readings show in the log.
    await stdout.waitFor('"msg":"demo_board Temperature: ');
    child.kill(signal);
    const code = await child.exited;
    const text = await stdout.done;
    expect(code).toBe(0);
    const messages = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).msg as string);
    expect(messages).toContain(`Received ${signal}; shutting down`);
    expect(messages.at(-1)).toBe("Stopped");
  });
}

test("sim runs a model's simulator on a pseudo-terminal and prints its path", async () => {
  const child = Bun.spawn([bun, join(root, "src/cli.ts"), "sim", "hearth-io"], { cwd: root, stdout: "pipe", stderr: "pipe" });
  const stdout = new OutputReader(child.stdout);
  await stdout.waitFor("\n");
  const path = stdout.text.trim();
  expect(path).toMatch(/^\/dev\/pts\/\d+$/);
  // The board's boot line waits on the tty for whoever opens it.
  const fd = openSync(path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
  const reader = Bun.file(fd).stream().getReader();
  let text = "";
  while (!text.includes("\n")) text += new TextDecoder().decode((await reader.read()).value);
  reader.releaseLock();
  closeSync(fd);
  expect(text).toStartWith("HELLO hearth-io fw=1.0.0 proto=1");
  child.kill("SIGINT");
  expect(await child.exited).toBe(0);
});

test("sim ds18b20 makes probe folders a ds18b20 device reads, and removes them when stopped", async () => {
  const child = Bun.spawn([bun, join(root, "src/cli.ts"), "sim", "ds18b20", "--count", "2"], { cwd: root, stdout: "pipe", stderr: "pipe" });
  const stdout = new OutputReader(child.stdout);
  await stdout.waitFor(/\n.*\n/);
  const folders = stdout.text.trim().split("\n");
  expect(folders).toHaveLength(2);
  expect(new Set(folders.map((f) => basename(f))).size).toBe(2);
  for (const folder of folders) {
    expect(basename(folder)).toMatch(/^28-[0-9a-f]{12}$/);
    const text = readFileSync(join(folder, "w1_slave"), "utf8");
    expect(text).toMatch(/crc=[0-9a-f]{2} YES\n/);
    expect(Number(/t=(-?\d+)/.exec(text)![1]) / 1000).toBeWithin(5, 35);
  }
  child.kill("SIGTERM");
  expect(await child.exited).toBe(0);
  for (const folder of folders) expect(existsSync(folder)).toBe(false);
});

test("sim refuses a model without a simulator", () => {
  const { code, err } = hearth("sim", "no-such-model");
  expect(code).toBe(2);
  expect(err).toContain("hearth-io");
});
