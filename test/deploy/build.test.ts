/**
 * deploy/build for real: both binaries built once into a temp folder, the x64 one run here as a user
 * would on a board (no Bun, an empty working folder, a real Mosquitto), the arm64 one under qemu.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { type Subprocess, spawn, which } from "bun";
import { openPty } from "../../src/serial/pty.ts";
import { WORKER_ENTRIES, type WorkerEntry, workerScript } from "../../src/worker-entries.ts";
import { lineModel, writeModel } from "../helpers/model-files.ts";
import { OutputReader } from "../helpers/output-reader.ts";
import { Peer, startBroker, type TestBroker } from "../mqtt/broker.ts";
import { builtBinary, builtRelease } from "./binary.ts";

const ROOT = join(import.meta.dir, "..", "..");
const VERSION = "9.8.7-buildtest";
/** Generous: these run the real binary, the arm64 one under an emulator, next to other test files. */
const RUN_MS = 120_000;
const QEMU_MS = 300_000;
const QEMU = "qemu-aarch64-static";
const ARM64_SYSROOT = "/usr/aarch64-linux-gnu";

let work: string;
let out: string;
let buildOutput: string;
let x64: string;
let arm64: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "hearth-build-test-"));
  out = join(work, "dist");
  const build = spawn([join(ROOT, "deploy", "build"), "--version", VERSION, "--out", out], { cwd: work, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(build.stdout).text(), new Response(build.stderr).text(), build.exited]);
  buildOutput = stdout;
  if (code !== 0) throw new Error(`deploy/build failed (exit code ${code}):\n${stdout}${stderr}`);
  x64 = join(out, `hearth-${VERSION}-linux-x64`);
  arm64 = join(out, `hearth-${VERSION}-linux-arm64`);
}, QEMU_MS);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** What a test started, stopped after it in reverse order, each step on its own. */
const undo: Array<() => unknown> = [];
afterEach(async () => {
  for (const step of undo.splice(0).reverse()) {
    try {
      await step();
    } catch (err) {
      console.error("cleanup failed:", err);
    }
  }
});

/** The ELF header's machine field: 0x3e x86-64, 0xb7 AArch64. */
function elfMachine(path: string): number {
  const header = Buffer.alloc(20);
  const fd = openSync(path, "r");
  try {
    readSync(fd, header, 0, 20, 0);
  } finally {
    closeSync(fd);
  }
  expect(header.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
  return header.readUInt16LE(18);
}

/** The environment of a board without Bun or Node: nothing on PATH (the binaries are run by their path). */
function bareEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: join(work, "nothing-on-path"), HOME: work, ...extra };
}

async function run(argv: string[], options: { cwd?: string } = {}) {
  const child = spawn(argv, { cwd: options.cwd ?? work, env: bareEnv(), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, code };
}

function requireTool(path: string | null, name: string, packages: string): string {
  if (path === null) throw new Error(`${name} is not installed: apt-get install ${packages}`);
  return path;
}

async function mosquitto(): Promise<TestBroker> {
  const broker = await startBroker();
  if (broker.kind !== "mosquitto") {
    await broker.stop();
    throw new Error("mosquitto is not installed: apt-get install mosquitto (the binary is tested against a real broker)");
  }
  return broker;
}

/** A hearth.yaml for a binary: the given simulated devices on the test's broker. */
function configFor(dir: string, node: string, url: string, devices: string[]): string {
  const file = join(dir, "hearth.yaml");
  writeFileSync(file, `node_id: ${node}\nlog_states: true\nmqtt:\n  url: ${url}\ndevices:\n${devices.map((d) => `  - ${d}\n`).join("")}`);
  return file;
}

/** A running `hearth run`, started in an empty folder with its state in a temp folder, logging JSON. */
class RunningHearth {
  readonly stdout: OutputReader;
  readonly stderr: OutputReader;

  private constructor(readonly child: Subprocess<"ignore", "pipe", "pipe">) {
    this.stdout = new OutputReader(child.stdout);
    this.stderr = new OutputReader(child.stderr);
  }

  static start(argv: string[], config: string, dir: string): RunningHearth {
    const cwd = join(dir, "empty");
    const data = join(dir, "data");
    mkdirSync(cwd);
    mkdirSync(data);
    const env = bareEnv({ HEARTH_DATA_DIR: data, HEARTH_LOG_FORMAT: "json" });
    return new RunningHearth(spawn([...argv, "run", "--config", config], { cwd, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" }));
  }

  /** Log lines at warn or above. */
  warnings(): Array<Record<string, unknown>> {
    return this.stdout.text
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((entry) => ["warn", "error", "fatal"].includes(String(entry.level)));
  }

  /** Sends SIGTERM; resolves with the exit code, or rejects if it has not exited within `ms`. */
  async terminate(ms: number): Promise<number> {
    this.child.kill("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`hearth did not exit within ${ms / 1000} s of SIGTERM:\n${this.stdout.text.slice(-3000)}`)), ms);
    });
    try {
      return await Promise.race([this.child.exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }
}

/** What a source run never logs: blocking-call reports, errors (a slow loop under a busy machine is allowed). */
function unexpectedWarnings(entries: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  return entries.filter((entry) => !(entry.component === "loop" && typeof entry.heldMs === "number"));
}

describe("deploy/build", () => {
  test("it makes one binary per architecture, for the right CPU, and prints each one's size", () => {
    expect(elfMachine(x64)).toBe(0x3e);
    expect(elfMachine(arm64)).toBe(0xb7);
    for (const binary of [x64, arm64]) {
      expect(statSync(binary).mode & 0o111).toBe(0o111);
      expect(buildOutput).toContain(`${relative(work, binary)}  ${(statSync(binary).size / 1024 / 1024).toFixed(1)} MiB`);
    }
  });

  test("the output folder holds the binaries and the checksum file, and nothing half-written", () => {
    expect(readdirSync(out).sort()).toEqual([`hearth-${VERSION}-linux-arm64`, `hearth-${VERSION}-linux-x64`, `hearth-${VERSION}.sha256`]);
  });

  test("sha256sum -c verifies both binaries from the checksum file", async () => {
    const sha256sum = requireTool(which("sha256sum"), "sha256sum", "coreutils");
    const check = await run([sha256sum, "-c", `hearth-${VERSION}.sha256`], { cwd: out });
    expect(check.code).toBe(0);
    expect(check.stdout).toBe(`hearth-${VERSION}-linux-x64: OK\nhearth-${VERSION}-linux-arm64: OK\n`);
  });

  test("a 32-bit ARM build is refused with the reason", async () => {
    const refused = spawn([join(ROOT, "deploy", "build"), "--arch", "arm", "--out", join(work, "refused")], { stdout: "pipe", stderr: "pipe" });
    const result = { code: await refused.exited, stderr: await new Response(refused.stderr).text() };
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("Bun has no 32-bit ARM build");
    expect(() => statSync(join(work, "refused"))).toThrow();
  });

  test("every Worker entry it bundles is found from source too", () => {
    for (const entry of Object.keys(WORKER_ENTRIES) as WorkerEntry[]) {
      expect(statSync(fileURLToPath(workerScript(entry))).isFile()).toBe(true);
    }
  });

  test("every module that declares an executor task is bundled into the executor Worker's entry, each task under its own name", () => {
    // Inside a binary a task is known by its name alone (src/core/executor/task.ts).
    const DECLARES_TASK = /^(?:export )?const \w+\s*=\s*(?:executorTask|dedicatedTask)\(\s*import\.meta\.url,\s*"([^"]+)"/gm;
    const entry = readFileSync(join(ROOT, "src", WORKER_ENTRIES.executor), "utf8");
    const declaring: string[] = [];
    const names: string[] = [];
    const visit = (dir: string) => {
      for (const name of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, name.name);
        if (name.isDirectory()) visit(path);
        else if (name.name.endsWith(".ts")) {
          const found = [...readFileSync(path, "utf8").matchAll(DECLARES_TASK)].map((match) => match[1] as string);
          if (found.length > 0) declaring.push(path);
          names.push(...found);
        }
      }
    };
    visit(join(ROOT, "src"));
    visit(join(ROOT, "devices"));
    expect(declaring.length).toBeGreaterThan(0);
    for (const path of declaring) expect(entry).toContain(`import "./${relative(join(ROOT, "src"), path)}";`);
    expect(names.filter((name, i) => names.indexOf(name) !== i)).toEqual([]);
  });
});

describe("the x64 binary, run here with nothing on PATH (no Bun, no Node)", () => {
  test("--version and version print the version it was built as", async () => {
    for (const args of [["--version"], ["version"]]) {
      const result = await run([x64, ...args]);
      expect(result).toEqual({ stdout: `${VERSION}\n`, stderr: "", code: 0 });
    }
  });

  test("check-config accepts a valid file and rejects a wrong one with its path", async () => {
    const dir = mkdtempSync(join(work, "check-"));
    const good = configFor(dir, "board", "mqtt://127.0.0.1:1", ["{ id: probe, model: ds18b20, port: sim }"]);
    const valid = await run([x64, "check-config", "--config", good]);
    expect(valid.code).toBe(0);
    expect(valid.stdout).toContain("valid");
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "devices:\n  - { id: probe, model: ds18b20, port: sim, baud: fast }\n");
    const invalid = await run([x64, "check-config", bad]);
    expect(invalid.code).toBe(2);
    expect(invalid.stdout + invalid.stderr).toContain("devices[0].baud");
  });

  test(
    "run: every simulated device's state reaches MQTT, health passes, and SIGTERM stops it cleanly",
    async () => {
      const dir = mkdtempSync(join(work, "run-"));
      const broker = await mosquitto();
      undo.push(() => broker.stop());
      const peer = await Peer.connect(broker.url, ["hearth/buildtest/#"]);
      undo.push(() => peer.close());
      // The probe is read by the executor's Worker; the others arrive through the serial reader's Worker.
      const config = configFor(dir, "buildtest", broker.url, [
        "{ id: probe, model: ds18b20, port: sim, poll_interval: 2 }",
        "{ id: board, model: hearth-io, port: sim, options: { interval: 1000 } }",
        "{ id: gps, model: nmea-gps, port: sim }",
        "{ id: meter, model: eastron-sdm120, port: sim, poll_interval: 2 }",
      ]);
      const hearth = RunningHearth.start([x64], config, dir);
      undo.push(() => hearth.kill());
      const probe = await peer.json<{ temperature?: number }>("hearth/buildtest/probe", (s) => typeof s.temperature === "number", RUN_MS);
      expect(probe.temperature).toBeGreaterThan(-55);
      await peer.json<{ temperature?: number }>("hearth/buildtest/board", (s) => typeof s.temperature === "number", RUN_MS);
      await peer.json<{ latitude?: number }>("hearth/buildtest/gps", (s) => typeof s.latitude === "number", RUN_MS);
      await peer.json<{ voltage?: number }>("hearth/buildtest/meter", (s) => typeof s.voltage === "number", RUN_MS);

      const health = await run([x64, "health", "--config", config]);
      expect(health.stdout).toContain(`hearth ${VERSION} on buildtest: healthy`);
      expect(health.code).toBe(0);

      expect(await hearth.terminate(10_000)).toBe(0);
      await hearth.stdout.done;
      expect(hearth.stdout.text).toContain('"msg":"Stopped"');
      expect(await hearth.stderr.done).toBe("");
      expect(unexpectedWarnings(hearth.warnings())).toEqual([]);
    },
    RUN_MS * 2,
  );
});

describe("the x64 binary with a user's model file", () => {
  test(
    "check-config and run load the model file beside the configuration; its device reports from a pty, and SIGHUP re-reads the file",
    async () => {
      const dir = mkdtempSync(join(work, "models-"));
      const broker = await mosquitto();
      undo.push(() => broker.stop());
      const peer = await Peer.connect(broker.url, ["hearth/modeltest/#"]);
      undo.push(() => peer.close());
      // The firmware's end of the line is this test's, on a real pseudo-terminal.
      const pty = openPty();
      undo.push(() => pty.close());
      const model = writeModel(dir, "meter.yaml", lineModel("my-meter"));
      const config = configFor(dir, "modeltest", broker.url, [`{ id: meter, model: my-meter, port: ${pty.path} }`]);
      const check = await run([x64, "check-config", config]);
      expect(check.stderr).toBe("");
      expect(check.stdout).toContain(`    my-meter: ${model}\n`);
      const hearth = RunningHearth.start([x64], config, dir);
      undo.push(() => hearth.kill());
      // The model only streams: the meter is available once hearth hears it, so it speaks until it is heard
      // (a line written before the binary has opened the port would be lost in its start-up).
      const speaking = (line: string, heard: Promise<unknown>) => {
        const timer = setInterval(() => void pty.write(line), 250);
        return heard.finally(() => clearInterval(timer));
      };
      await speaking(
        "R p=12.5\n",
        peer.json<{ power?: number }>("hearth/modeltest/meter", (s) => s.power === 12.5, RUN_MS),
      );
      await peer.next("hearth/modeltest/meter/availability", (p) => p === "online", RUN_MS);

      writeModel(dir, "meter.yaml", lineModel("my-meter", { entities: ["- { key: power, kind: sensor, unit: W, read: p }", "- { key: energy, kind: sensor, unit: kWh, read: e }"] }));
      const back = peer.fresh("hearth/modeltest/meter/availability", (p) => p === "online", RUN_MS);
      hearth.child.kill("SIGHUP");
      await speaking(
        "R p=12.5 e=3\n",
        peer.json<{ energy?: number }>("hearth/modeltest/meter", (s) => s.energy === 3, RUN_MS),
      );
      await back;

      expect(await hearth.terminate(10_000)).toBe(0);
      await hearth.stdout.done;
      expect(await hearth.stderr.done).toBe("");
      expect(unexpectedWarnings(hearth.warnings())).toEqual([]);
    },
    RUN_MS * 2,
  );
});

describe("the arm64 binary, under qemu", () => {
  const qemu = () => requireTool(which(QEMU), QEMU, "qemu-user-static libc6-dev-arm64-cross");
  const sysroot = () => {
    if (!statSync(join(ARM64_SYSROOT, "lib"), { throwIfNoEntry: false })?.isDirectory()) {
      throw new Error(`${ARM64_SYSROOT} is missing: apt-get install libc6-dev-arm64-cross`);
    }
    return ARM64_SYSROOT;
  };

  test(
    "--version prints the version it was built as",
    async () => {
      const result = await run([qemu(), "-L", sysroot(), arm64, "--version"]);
      expect(result).toEqual({ stdout: `${VERSION}\n`, stderr: "", code: 0 });
    },
    QEMU_MS,
  );

  test(
    "run: a simulated probe's and a simulated board's states reach MQTT, and SIGTERM stops it",
    async () => {
      const dir = mkdtempSync(join(work, "qemu-"));
      const broker = await mosquitto();
      undo.push(() => broker.stop());
      const peer = await Peer.connect(broker.url, ["hearth/armtest/#"]);
      undo.push(() => peer.close());
      const config = configFor(dir, "armtest", broker.url, ["{ id: probe, model: ds18b20, port: sim, poll_interval: 2 }", "{ id: board, model: hearth-io, port: sim, options: { interval: 1000 } }"]);
      const hearth = RunningHearth.start([qemu(), "-L", sysroot(), arm64], config, dir);
      undo.push(() => hearth.kill());
      await peer.json<{ temperature?: number }>("hearth/armtest/probe", (s) => typeof s.temperature === "number", QEMU_MS / 2);
      await peer.json<{ temperature?: number }>("hearth/armtest/board", (s) => typeof s.temperature === "number", QEMU_MS / 2);
      expect(await hearth.terminate(60_000)).toBe(0);
      expect(await hearth.stderr.done).toBe("");
    },
    QEMU_MS * 2,
  );
});

describe("test/deploy/binary.ts", () => {
  test("builtBinary builds once and hands every caller the same working binary", async () => {
    const [a, b] = await Promise.all([builtBinary("x64", "9.8.6-cache"), builtBinary("x64", "9.8.6-cache")]);
    expect(a).toBe(b);
    const release = await builtRelease("x64", "9.8.6-cache");
    expect(release.binary).toBe(a);
    expect((await run([a, "--version"])).stdout).toBe("9.8.6-cache\n");
    const sums = readFileSync(release.sha256File, "utf8");
    expect(sums).toContain(`  hearth-9.8.6-cache-linux-x64\n`);
  });
});
