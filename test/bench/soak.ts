/**
 * `npm run bench -- soak`: hearth as it runs on a board, for a long while, under steady pressure: the
 * default run's five simulated devices (one of each model, on real pseudo-terminals), a `health` request
 * every 100 ms, and the broker (real Mosquitto) restarted every 2 minutes. hearth runs as its own process
 * (`bun src/cli.ts run`), so what is measured is the process a board runs: its RSS and its open file
 * descriptors from /proc, and its loop lag as each health reply reports it.
 *
 * RSS growth is the slope of a least-squares line through the samples taken after the first minute (the
 * first minute is start-up: Workers, JIT, SQLite's cache). The goal is under 0.1 MB/min; the
 * row's limit is that figure, so its ratio is the growth over the goal. In the same run, a bare MQTT.js
 * process answers the same health requests through the same broker restarts: its growth is the floor
 * that Bun and MQTT.js alone show under this traffic, a reference rather than a goal.
 *
 * HEARTH_SOAK_MINUTES (default 10) sets the length; HEARTH_SOAK_RESTART_S (default 120) the broker's.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
    const hearth = spawn(["bun", "src/cli.ts", "run", "--config", join(dir, "hearth.yaml")], {
      cwd: ROOT,
      env: { ...process.env, HEARTH_DATA_DIR: join(dir, "data"), NODE_ENV: "production" },
      stdin: "ignore",
      stdout: "ignore",
      stderr: "ignore",
    });
    const bare = spawn(["bun", join(import.meta.dir, "fixtures", "soak-responder.ts"), "bare/soak", broker.url], {
      cwd: ROOT,
      stdin: "ignore",
      stdout: "ignore",
      stderr: "ignore",
    });
    subjects.push({ name: "hearth", proc: hearth, probe: await HealthProbe.start(broker.url, "hearth/soak"), samples: [] });
    subjects.push({ name: "bare", proc: bare, probe: await HealthProbe.start(broker.url, "bare/soak"), samples: [] });

    const started = performance.now();
    for (const s of subjects) s.probe.startedAt = started;
    const totalMs = MINUTES * 60_000;
    let nextRestart = RESTART_S * 1000;
    let restarts = 0;
    while (performance.now() - started < totalMs) {
      await Bun.sleep(SAMPLE_EVERY_MS);
      const at = performance.now() - started;
      for (const s of subjects) {
        if (s.proc.exitCode !== null) throw new Error(`${s.name} exited with ${s.proc.exitCode} after ${Math.round(at / 1000)} s`);
        s.samples.push(sampleProcess(s.proc.pid, at));
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
    const heapAfter = (s: Subject) => s.probe.heap.filter((x) => x.atMs >= Math.min(WARM_UP_MS, totalMs / 3));
    const heapSlope = (s: Subject) => round(slopeMbPerMin(heapAfter(s), (x) => x.mb));
    const fdsAfter = after(h).map((x) => x.fds);
    const minutes = round(totalMs / 60_000, 1);
    return [
      compared({
        name: `rss_growth_after_1min (${minutes} min, ${restarts} broker restarts)`,
        value: round(hearthSlope),
        unit: "MB/min",
        limit: { name: "the issue's ceiling", value: RSS_GOAL_MB_PER_MIN },
        goal: 1,
      }),
      { name: "rss_growth_bare_mqttjs_responder", value: round(bareSlope), unit: "MB/min" },
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
