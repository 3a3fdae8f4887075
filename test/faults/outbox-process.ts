/**
 * What the outbox fault tests share: hearth as a real child process (`bun src/cli.ts run`) with its
 * database in a data dir, and a hearth-io simulator on a real pty that the test drives, so that the
 * test decides when a device event (a boot line, `HELLO`) happens and hearth can be SIGKILLed at a
 * chosen moment after it.
 */
import { afterEach } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { builtInCatalogue } from "../../src/catalogue.ts";
import { type SimulatedPort, startSimulator } from "../../src/engine/configured-ports.ts";
import { OutputReader } from "../helpers/output-reader.ts";

const ROOT = join(import.meta.dir, "..", "..");
const cleanups: Array<() => unknown> = [];

/** Stops what the helpers below started and removes their folders, the last started first. */
export function cleanUpProcessesAfterEach(): void {
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => {});
  });
}

export { until } from "../helpers/until.ts";

/** A temporary folder, removed after the test. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A hearth-io simulator on a pty of this process, configured as device `id`; its boot lines are the device events. */
export interface Board extends SimulatedPort {
  id: string;
  /** The event topic hearth publishes this board's boots on. */
  events: string;
  boot: (firmware: string) => Promise<void>;
}

/**
 * `count` boards, board1…boardN. A device's reboot events are rate-limited (a board in a boot loop is
 * one event a minute, with a count), so a test that needs many events in a few seconds boots many boards
 * once each: every boot is then an event of its own, as when the boards of a house restart after a power cut.
 */
export function boards(count: number): Board[] {
  return Array.from({ length: count }, (_, i) => {
    const id = `board${i + 1}`;
    const sim = startSimulator(builtInCatalogue().simulator("hearth-io"), { interval: 60_000 });
    cleanups.push(() => sim.stop());
    // A boot line is what a board sends after a reset: hearth publishes it as a non-retained event.
    return { ...sim, id, events: `hearth/test/${id}/event`, boot: (firmware: string) => sim.pty.write(`HELLO hearth-io fw=${firmware} proto=1\r\n`) };
  });
}

/** hearth.yaml for node `test` (base `hearth/test`) on `url`, with a hearth-io device for each board. */
export function configText(url: string, devices: ReadonlyArray<{ id: string; pty: { path: string } }>, mqttExtra = ""): string {
  const entries = devices.map((d) => `  - id: ${d.id}\n    model: hearth-io\n    port: ${d.pty.path}\n`).join("");
  return `node_id: test\nlog_level: debug\nmqtt:\n  url: ${url}\n  base_topic: hearth/test\n  discovery: { enabled: false }\n${mqttExtra}devices:\n${entries}`;
}

/** A `hearth run` child process logging JSON, with its database in `dataDir`. */
export class HearthProcess {
  readonly stdout: OutputReader;
  private readonly child: Subprocess<"ignore", "pipe", "pipe">;

  private constructor(child: Subprocess<"ignore", "pipe", "pipe">) {
    this.child = child;
    this.stdout = new OutputReader(child.stdout);
    void new OutputReader(child.stderr); // drained so that the pipe never fills
  }

  /** Starts hearth on `config` (text) and resolves once it says it is running. */
  static async start(dir: string, config: string, dataDir: string): Promise<HearthProcess> {
    const path = join(dir, "hearth.yaml");
    writeFileSync(path, config);
    const env = { ...process.env, HEARTH_DATA_DIR: dataDir, HEARTH_LOG_FORMAT: "json" };
    const child = Bun.spawn([process.execPath, join(ROOT, "src/cli.ts"), "run", "--config", path], { cwd: dir, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const running = new HearthProcess(child);
    cleanups.push(() => running.kill());
    await running.stdout.waitFor("hearth is running");
    return running;
  }

  /** Its log lines, parsed. */
  lines(): Array<Record<string, unknown>> {
    return this.stdout.text
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** Resolves once it has logged that the board booted with `firmware` (the event is queued by then). */
  booted(firmware: string): Promise<void> {
    return this.stdout.waitFor(new RegExp(`"swVersion":"${firmware}".*"msg":"Device \\(re\\)booted"`));
  }

  /** SIGKILL: no shutdown, no final write, as the OOM killer or a watchdog does it. */
  async kill(): Promise<void> {
    this.child.kill("SIGKILL");
    await this.child.exited;
  }
}
