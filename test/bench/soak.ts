/**
 * `npm run bench -- soak`: hearth as it runs on a board, for a long while, under steady pressure: the
 * default run's five simulated devices (one of each model, on real pseudo-terminals), a `health` request
 * every 100 ms, and the broker (real Mosquitto) restarted every 2 minutes. hearth runs as its own process
 * (`bun src/cli.ts run`), so what is measured is the process a board runs: its RSS and its open file
 * descriptors from /proc, and its loop lag as each health reply reports it.
 *
 * RSS growth is the slope of a least-squares line through samples taken after the first minute (the
 * first minute is start-up: Workers, JIT, SQLite's cache). The goal is under 0.1 MB/min; the
 * row's limit is that figure, so its ratio is the growth over the goal. The goal's row is read from
 * samples taken just after a full garbage collection: twice a minute, 15 s or more from a broker restart,
 * the bench asks for one (SIGUSR2 to fixtures/soak-gc.ts, which it preloads into the process; hearth
 * itself has no such hook) and takes the RSS, the JavaScript heap and the JIT's code that are left. A
 * sample every 5 s, wherever the collector and the allocator happen to be, swings by megabytes (most of
 * all around a restart), so a line through those (still printed, `rss_growth_after_1min_every_5s`)
 * wanders by tenths of a MB/min from one run to the next; the code the JIT compiles grows all the
 * while too (the paths a restart runs get hot only after several restarts) and is shown on its own.
 * In the same run, a bare MQTT.js process answers the same health requests through the same broker
 * restarts, measured the same way: its growth is the floor that Bun and MQTT.js alone show under this
 * traffic, a reference rather than a goal.
 *
 * HEARTH_SOAK_MINUTES (default 10) sets the length; HEARTH_SOAK_RESTART_S (default 120) the broker's.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Subprocess, spawn } from "bun";
import mqtt, { type MqttClient } from "mqtt";
import { DEFAULT_CONFIG } from "../../src/config/defaults.ts";
import { startBroker, type TestBroker } from "../mqtt/broker.ts";
import { type BenchResult, compared } from "./result.ts";

const MINUTES = Number(process.env.HEARTH_SOAK_MINUTES ?? 10);
const RESTART_S = Number(process.env.HEARTH_SOAK_RESTART_S ?? 120);
const HEALTH_EVERY_MS = 100;
const SAMPLE_EVERY_MS = 5000;
const WARM_UP_MS = 60_000;
/** A full collection is asked for this often, the first at half of it: 15 s or more from every restart (they come on whole minutes). */
const GC_EVERY_MS = 30_000;
const GC_FIXTURE = join(import.meta.dir, "fixtures", "soak-gc.ts");
const RSS_GOAL_MB_PER_MIN = 0.1;
const ROOT = join(import.meta.dir, "..", "..");

interface Sample {
  atMs: number;
  rssMb: number;
  fds: number;
}

/** RSS (MB) and open descriptors of a process, from /proc. */
function sampleProcess(pid: number, atMs: number): Sample {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return { atMs, rssMb: kb / 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
}

/** What is left just after a full collection: RSS and JavaScript heap (MB), and the JIT's code resident (MB). */
interface AfterGc {
  atMs: number;
  rssMb: number;
  heapMb: number;
  jitMb: number;
}

/** The resident size (MB) of a process's anonymous executable mappings: the code its JIT wrote. */
function jitCodeMb(pid: number): number {
  let kb = 0;
  let executable = false;
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const mapping = /^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \S+\s*(\S*)/.exec(line);
    if (mapping) executable = mapping[1]!.includes("x") && mapping[2] === "";
    else if (executable && line.startsWith("Rss:")) kb += Number(/\d+/.exec(line)?.[0] ?? 0);
  }
  return kb / 1024;
}

/** Asks a process preloaded with fixtures/soak-gc.ts for a full collection and waits for its report. */
async function afterGc(pid: number, report: string, atMs: number): Promise<AfterGc | undefined> {
  const lines = () => (existsSync(report) ? readFileSync(report, "utf8").split("\n").filter(Boolean) : []);
  const before = lines().length;
  process.kill(pid, "SIGUSR2");
  for (let waited = 0; waited < 5000; waited += 50) {
    await Bun.sleep(50);
    const now = lines();
    if (now.length > before) {
      const { rssMb, heapMb } = JSON.parse(now.at(-1)!) as { rssMb: number; heapMb: number };
      return { atMs, rssMb, heapMb, jitMb: jitCodeMb(pid) };
    }
  }
  return undefined; // no report within 5 s: this sample is skipped
}

/** Least-squares slope of a figure over time, MB per minute (RSS by default). */
function slopeMbPerMin<T extends { atMs: number }>(samples: T[], mbOf: (s: T) => number = (s) => (s as unknown as Sample).rssMb): number {
  const n = samples.length;
  if (n < 2) return Number.NaN;
  const xs = samples.map((s) => s.atMs / 60_000);
  const ys = samples.map(mbOf);
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return num / den;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

/** A requester: a `health` request every 100 ms, counting replies and the loop lag they report. */
class HealthProbe {
  sent = 0;
  answered = 0;
  /** When the run started (performance.now()), so heap samples share the RSS samples' time axis. */
  startedAt = performance.now();
  readonly lagsMs: number[] = [];
  readonly latenciesMs: number[] = [];
  /** The JavaScript heap in use as the replies report it (MB), one sample a second at most. */
  readonly heap: Array<{ atMs: number; mb: number }> = [];
  private readonly pending = new Map<number, number>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private constructor(
    private readonly client: MqttClient,
    private readonly base: string,
  ) {}

  static async start(url: string, base: string): Promise<HealthProbe> {
    const client = mqtt.connect(url, { reconnectPeriod: 500, clientId: `soak-probe-${base.replaceAll("/", "-")}` });
    client.on("error", () => {});
    const probe = new HealthProbe(client, base);
    client.on("connect", () => client.subscribe(`${base}/bridge/response/health`, { qos: 1 }));
    client.on("message", (_topic, payload) => probe.onReply(payload));
    await new Promise<void>((resolve) => client.once("connect", () => resolve()));
    probe.timer = setInterval(() => probe.send(), HEALTH_EVERY_MS);
    return probe;
  }

  private send(): void {
    if (!this.client.connected) return; // the broker is restarting: nothing to ask
    const transaction = ++this.sent;
    this.pending.set(transaction, performance.now());
    this.client.publish(`${this.base}/bridge/request/health`, JSON.stringify({ transaction }), { qos: 1 });
  }

  private onReply(payload: Buffer): void {
    let reply: { transaction?: number; data?: { loop?: { lagMs?: number }; memory?: { heap_used_mb?: number } } };
    try {
      reply = JSON.parse(payload.toString());
    } catch {
      return;
    }
    const sentAt = this.pending.get(reply.transaction ?? -1);
    if (sentAt === undefined) return;
    this.pending.delete(reply.transaction!);
    this.answered++;
    this.latenciesMs.push(performance.now() - sentAt);
    const lag = reply.data?.loop?.lagMs;
    if (typeof lag === "number") this.lagsMs.push(lag);
    const heap = reply.data?.memory?.heap_used_mb;
    const at = performance.now() - this.startedAt;
    if (typeof heap === "number" && (this.heap.length === 0 || at - this.heap.at(-1)!.atMs >= 1000)) this.heap.push({ atMs: at, mb: heap });
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.client.endAsync(true);
  }
}

interface Subject {
  name: string;
  proc: Subprocess;
  probe: HealthProbe;
  samples: Sample[];
  /** Where its soak-gc.ts preload reports, and what it reported. */
  gcReport: string;
  afterGc: AfterGc[];
}

export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), "hearth-soak-"));
  let broker: TestBroker | undefined;
  const subjects: Subject[] = [];
  try {
    broker = await startBroker();
    // The defaults' devices without their web server (it would take 127.0.0.1:8099).
    const { http: _http, ...defaults } = DEFAULT_CONFIG;
    const config = { ...defaults, log_states: false, node_id: "soak", mqtt: { url: broker.url, base_topic: "hearth/soak" } };
    writeFileSync(join(dir, "hearth.yaml"), JSON.stringify(config)); // JSON is YAML
    const gcReport = (name: string) => join(dir, `${name}-gc.jsonl`);
    const hearth = spawn(["bun", "--preload", GC_FIXTURE, "src/cli.ts", "run", "--config", join(dir, "hearth.yaml")], {
      cwd: ROOT,
      env: { ...process.env, HEARTH_DATA_DIR: join(dir, "data"), NODE_ENV: "production", HEARTH_SOAK_GC_REPORT: gcReport("hearth") },
      stdin: "ignore",
      stdout: "ignore",
      stderr: "ignore",
    });
    const bare = spawn(["bun", "--preload", GC_FIXTURE, join(import.meta.dir, "fixtures", "soak-responder.ts"), "bare/soak", broker.url], {
      cwd: ROOT,
      env: { ...process.env, HEARTH_SOAK_GC_REPORT: gcReport("bare") },
      stdin: "ignore",
      stdout: "ignore",
      stderr: "ignore",
    });
    subjects.push({ name: "hearth", proc: hearth, probe: await HealthProbe.start(broker.url, "hearth/soak"), samples: [], gcReport: gcReport("hearth"), afterGc: [] });
    subjects.push({ name: "bare", proc: bare, probe: await HealthProbe.start(broker.url, "bare/soak"), samples: [], gcReport: gcReport("bare"), afterGc: [] });

    const started = performance.now();
    for (const s of subjects) s.probe.startedAt = started;
    const totalMs = MINUTES * 60_000;
    let nextRestart = RESTART_S * 1000;
    let nextGc = GC_EVERY_MS / 2;
    let restarts = 0;
    while (performance.now() - started < totalMs) {
      await Bun.sleep(SAMPLE_EVERY_MS);
      const at = performance.now() - started;
      for (const s of subjects) {
        if (s.proc.exitCode !== null) throw new Error(`${s.name} exited with ${s.proc.exitCode} after ${Math.round(at / 1000)} s`);
        s.samples.push(sampleProcess(s.proc.pid, at));
      }
      if (at >= nextGc) {
        nextGc += GC_EVERY_MS;
        for (const s of subjects) {
          const left = await afterGc(s.proc.pid, s.gcReport, at);
          if (left === undefined) continue;
          s.afterGc.push(left);
          process.stderr.write(
            `soak ${Math.round(at / 1000)} s: ${s.name} after a full collection: rss ${left.rssMb.toFixed(1)} MB, heap ${left.heapMb.toFixed(2)} MB, JIT code ${left.jitMb.toFixed(2)} MB\n`,
          );
        }
      }
      if (at >= nextRestart) {
        nextRestart += RESTART_S * 1000;
        restarts++;
        await broker.kill("SIGTERM");
        await broker.restart();
      }
      const h = subjects[0]!;
      const last = h.samples.at(-1)!;
      process.stderr.write(
        `soak ${Math.round(at / 1000)} s: hearth rss ${last.rssMb.toFixed(1)} MB, fds ${last.fds}, heap ${h.probe.heap.at(-1)?.mb ?? "?"} MB, health ${h.probe.answered}/${h.probe.sent}, broker restarts ${restarts}\n`,
      );
    }

    const [h, b] = subjects as [Subject, Subject];
    const after = (s: Subject) => s.samples.filter((x) => x.atMs >= Math.min(WARM_UP_MS, totalMs / 3));
    const hearthSlope = slopeMbPerMin(after(h));
    const bareSlope = slopeMbPerMin(after(b));
    const gcAfter = (s: Subject) => s.afterGc.filter((x) => x.atMs >= Math.min(WARM_UP_MS, totalMs / 3));
    const gcSlope = (s: Subject, mbOf: (x: AfterGc) => number) => round(slopeMbPerMin(gcAfter(s), mbOf));
    const jit = gcAfter(h).map((x) => x.jitMb);
    const heapAfter = (s: Subject) => s.probe.heap.filter((x) => x.atMs >= Math.min(WARM_UP_MS, totalMs / 3));
    const heapSlope = (s: Subject) => round(slopeMbPerMin(heapAfter(s), (x) => x.mb));
    const fdsAfter = after(h).map((x) => x.fds);
    const minutes = round(totalMs / 60_000, 1);
    return [
      compared({
        name: `rss_growth_after_1min_after_gc (${minutes} min, ${restarts} broker restarts, ${gcAfter(h).length} samples)`,
        value: gcSlope(h, (x) => x.rssMb),
        unit: "MB/min",
        limit: { name: "the issue's ceiling", value: RSS_GOAL_MB_PER_MIN },
        goal: 1,
      }),
      { name: "rss_growth_bare_mqttjs_responder_after_gc", value: gcSlope(b, (x) => x.rssMb), unit: "MB/min" },
      { name: "heap_growth_after_1min_after_gc", value: gcSlope(h, (x) => x.heapMb), unit: "MB/min" },
      { name: "heap_growth_bare_mqttjs_responder_after_gc", value: gcSlope(b, (x) => x.heapMb), unit: "MB/min" },
      { name: "jit_code_growth_after_1min", value: gcSlope(h, (x) => x.jitMb), unit: "MB/min" },
      { name: "jit_code_at_1min", value: round(jit[0] ?? Number.NaN, 2), unit: "MB" },
      { name: "jit_code_at_end", value: round(jit.at(-1) ?? Number.NaN, 2), unit: "MB" },
      { name: "rss_growth_after_1min_every_5s", value: round(hearthSlope), unit: "MB/min" },
      { name: "rss_growth_bare_mqttjs_responder_every_5s", value: round(bareSlope), unit: "MB/min" },
      { name: "heap_growth_after_1min", value: heapSlope(h), unit: "MB/min" },
      { name: "heap_growth_bare_mqttjs_responder", value: heapSlope(b), unit: "MB/min" },
      { name: "heap_at_end", value: round(h.probe.heap.at(-1)?.mb ?? Number.NaN, 1), unit: "MB" },
      { name: "rss_at_1min", value: round(after(h)[0]?.rssMb ?? Number.NaN, 1), unit: "MB" },
      { name: "rss_at_end", value: round(h.samples.at(-1)!.rssMb, 1), unit: "MB" },
      { name: "fds_after_1min_min", value: Math.min(...fdsAfter), unit: "fds" },
      { name: "fds_after_1min_max", value: Math.max(...fdsAfter), unit: "fds" },
      { name: "fds_end_minus_1min", value: (fdsAfter.at(-1) ?? 0) - (fdsAfter[0] ?? 0), unit: "fds" },
      { name: "loop_lag_p50", value: round(percentile(h.probe.lagsMs, 50)), unit: "ms" },
      { name: "loop_lag_p99", value: round(percentile(h.probe.lagsMs, 99)), unit: "ms" },
      { name: "loop_lag_max", value: round(Math.max(...h.probe.lagsMs)), unit: "ms" },
      compared({
        name: "health_reply_p99",
        value: round(percentile(h.probe.latenciesMs, 99)),
        unit: "ms",
        limit: { name: "bare MQTT.js responder", value: round(percentile(b.probe.latenciesMs, 99)) },
      }),
      { name: "health_answered_share", value: round(h.probe.answered / Math.max(1, h.probe.sent)), unit: "of requests sent" },
      { name: "health_answered_share_bare", value: round(b.probe.answered / Math.max(1, b.probe.sent)), unit: "of requests sent" },
    ];
  } finally {
    for (const s of subjects) {
      await s.probe.stop().catch(() => {});
      s.proc.kill("SIGTERM");
      await Promise.race([s.proc.exited, Bun.sleep(5000)]);
      s.proc.kill("SIGKILL");
    }
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
