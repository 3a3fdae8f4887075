/**
 * Scaffolding for the suites that run hearth as its own process (`bun src/cli.ts run`) with simulated
 * hearth-io boards (`port: sim`, so the simulators run inside it, reporting every second) on a real
 * Mosquitto, and read its CPU from /proc in alternated windows: `metrics` and `console` share it.
 * Not a suite itself (run.ts's NOT_SUITES).
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { startBroker, type TestBroker } from "../mqtt/broker.ts";

const root = join(import.meta.dir, "..", "..");
/** The start log's line that names the web server's address (src/http/server.ts). */
const LISTENING = "Web console and /metrics on ";
/** Log levels worth passing on to the bench's stderr; the rest of hearth's log is read and dropped. */
const SHOWN_LEVELS = new Set(["warn", "error", "fatal"]);

/** Length of one measuring window, ms: HEARTH_BENCH_SECONDS, 10 s when unset. */
export function windowMs(defaultSeconds = 10): number {
  return Number(process.env.HEARTH_BENCH_SECONDS ?? defaultSeconds) * 1000;
}

/** A running hearth with its boards up. */
export interface HearthFleet {
  readonly process: Subprocess;
  readonly pid: number;
  /** The web server's base address, as hearth logged it (it listens on a port the kernel picked). */
  readonly baseUrl: URL;
  readonly broker: TestBroker;
  /** Stops hearth (SIGTERM, SIGKILL after 10 s), the broker, and removes the temporary directory. */
  stop(): Promise<void>;
}

/**
 * Starts a broker and hearth with `devices` simulated boards, each reporting every second and polled
 * at 1 Hz, and the web server on 127.0.0.1:0; resolves once /metrics says every board is available and
 * 3 s more have passed (first polls and reports done).
 */
export async function startHearthFleet(options: { devices: number; name: string }): Promise<HearthFleet> {
  const { devices } = options;
  const broker = await startBroker();
  const dir = await mkdtemp(join(tmpdir(), `hearth-bench-${options.name}-`));
  const boards = Array.from({ length: devices }, (_, i) => `  - { id: board${i}, model: hearth-io, port: sim, poll_interval: 1, options: { interval: 1000 } }`).join("\n");
  // log_level info: the address line is at info; nothing is logged at info in the steady state.
  writeFileSync(join(dir, "hearth.yaml"), `node_id: bench\nlog_level: info\nmqtt:\n  url: ${broker.url}\n  base_topic: hearth/bench\nhttp: {}\ndevices:\n${boards}\n`);
  const hearth = Bun.spawn([process.execPath, join(root, "src/cli.ts"), "run", "--config", join(dir, "hearth.yaml")], {
    cwd: root,
    env: { ...process.env, HEARTH_DATA_DIR: join(dir, "data"), HEARTH_HTTP_LISTEN: "127.0.0.1:0", HEARTH_LOG_FORMAT: "json", NODE_ENV: "production" },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "inherit",
  });
  const stop = async () => {
    hearth.kill("SIGTERM");
    await Promise.race([hearth.exited, Bun.sleep(10_000)]);
    if (hearth.exitCode === null) hearth.kill("SIGKILL");
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const baseUrl = await withTimeout(readLog(hearth.stdout), 60_000, "hearth did not log its web server's address within 60 s");
    const metrics = new URL("/metrics", baseUrl);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const text = await fetch(metrics)
        .then((r) => r.text())
        .catch(() => "");
      if (text.split("\n").filter((l) => l.startsWith("hearth_device_available{") && l.endsWith(" 1")).length === devices) break;
      if (Date.now() > deadline || hearth.exitCode !== null) throw new Error(`hearth did not bring its ${devices} boards up within 60 s`);
      await Bun.sleep(500);
    }
    await Bun.sleep(3000);
    return { process: hearth, pid: hearth.pid, baseUrl, broker, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Reads hearth's JSON log for as long as it runs (a pipe nobody reads would fill and stop hearth),
 * passing warnings and errors on to stderr; resolves with the web server's address when it is logged.
 */
function readLog(stdout: ReadableStream<Uint8Array>): Promise<URL> {
  return new Promise((resolve, reject) => {
    let found = false;
    void (async () => {
      const decoder = new TextDecoder();
      let pending = "";
      for await (const chunk of stdout) {
        pending += decoder.decode(chunk, { stream: true });
        let newline = pending.indexOf("\n");
        while (newline >= 0) {
          const line = pending.slice(0, newline);
          pending = pending.slice(newline + 1);
          newline = pending.indexOf("\n");
          let entry: { level?: string; msg?: string; url?: string };
          try {
            entry = JSON.parse(line) as typeof entry;
          } catch {
            process.stderr.write(`${line}\n`);
            continue;
          }
          if (!found && typeof entry.url === "string" && entry.msg?.startsWith(LISTENING)) {
            found = true;
            resolve(new URL(entry.url));
          }
          if (entry.level !== undefined && SHOWN_LEVELS.has(entry.level)) process.stderr.write(`${line}\n`);
        }
      }
      if (!found) reject(new Error("hearth exited before logging its web server's address"));
    })().catch(reject);
  });
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: Timer | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Clock ticks per second of /proc's CPU times. */
const CLOCK_TICKS = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100;

/** A process's user and system CPU so far, seconds (fields 14 and 15 of /proc/<pid>/stat, after the command's parentheses). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** What a suite does in one window: `during` runs until the deadline it is given; `enter` and `leave`, when given, run just before and after it, outside the measured span (opening and closing clients, say). */
export interface WindowSteps<C> {
  enter?: (condition: C) => Promise<void>;
  during: (condition: C, deadline: number) => Promise<void>;
  leave?: (condition: C) => Promise<void>;
}

/**
 * Runs `rounds` rounds of one window per condition, in the order given (so a drift in the machine's
 * load falls on every condition alike), and returns each condition's windows' CPU shares of a core, %.
 */
export async function alternatedCpu<C extends string>(pid: number, options: { rounds: number; windowMs: number; conditions: readonly C[] }, steps: WindowSteps<C>): Promise<Record<C, number[]>> {
  const shares = Object.fromEntries(options.conditions.map((c) => [c, [] as number[]])) as Record<C, number[]>;
  for (let round = 0; round < options.rounds; round++) {
    for (const condition of options.conditions) {
      await steps.enter?.(condition);
      const before = cpuSeconds(pid);
      const started = performance.now();
      await steps.during(condition, started + options.windowMs);
      shares[condition].push(((cpuSeconds(pid) - before) / ((performance.now() - started) / 1000)) * 100);
      await steps.leave?.(condition);
    }
  }
  return shares;
}

export function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
