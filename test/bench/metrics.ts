/**
 * `npm run bench -- metrics`: what scraping /metrics costs. hearth runs as its own process (`bun
 * src/cli.ts run`) with 50 simulated hearth-io boards (`port: sim`, so the simulators run inside it,
 * polled at 1 Hz and reporting every second) on a real Mosquitto, and its CPU is read from /proc: over
 * one window with /metrics scraped once a second, against the limit, the same hearth over a window of
 * the same length unscraped, measured in the same run (alternated, so a drift in the machine's load
 * falls on both).
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startBroker } from "../mqtt/broker.ts";
import { type BenchResult, compared } from "./result.ts";

const root = join(import.meta.dir, "..", "..");
const WINDOW_MS = Number(process.env.HEARTH_BENCH_SECONDS ?? 10) * 1000;
const DEVICES = 50;
/** Windows of each kind: scraped and unscraped, alternated. */
const ROUNDS = 2;

/** Clock ticks per second of /proc's CPU times. */
const CLOCK_TICKS = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100;

/** A process's user and system CPU so far, seconds (fields 14 and 15 of /proc/<pid>/stat, after the command's parentheses). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export async function run(): Promise<BenchResult[]> {
  const broker = await startBroker();
  const dir = await mkdtemp(join(tmpdir(), "hearth-bench-metrics-"));
  const port = await freePort();
  const boards = Array.from({ length: DEVICES }, (_, i) => `  - { id: board${i}, model: hearth-io, port: sim, poll_interval: 1, options: { interval: 1000 } }`).join("\n");
  writeFileSync(join(dir, "hearth.yaml"), `node_id: bench\nlog_level: warn\nmqtt:\n  url: ${broker.url}\n  base_topic: hearth/bench\nhttp:\n  listen: 127.0.0.1:${port}\ndevices:\n${boards}\n`);
  const hearth = Bun.spawn([process.execPath, join(root, "src/cli.ts"), "run", "--config", join(dir, "hearth.yaml")], {
    cwd: root,
    env: { ...process.env, HEARTH_DATA_DIR: join(dir, "data"), NODE_ENV: "production" },
    stdin: "ignore",
    stdout: "ignore",
    stderr: "inherit",
  });
  const url = `http://127.0.0.1:${port}/metrics`;
  try {
    // Up when every board is available.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const text = await fetch(url)
        .then((r) => r.text())
        .catch(() => "");
      if (text.split("\n").filter((l) => l.startsWith("hearth_device_available{") && l.endsWith(" 1")).length === DEVICES) break;
      if (Date.now() > deadline || hearth.exitCode !== null) throw new Error(`hearth did not bring its ${DEVICES} boards up within 60 s`);
      await Bun.sleep(500);
    }
    await Bun.sleep(3000); // settle: first polls and reports done

    const scraped: number[] = [];
    const unscraped: number[] = [];
    const scrapeMs: number[] = [];
    let bytes = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (const scraping of [false, true]) {
        const before = cpuSeconds(hearth.pid);
        const started = performance.now();
        while (performance.now() - started < WINDOW_MS) {
          const tick = performance.now();
          if (scraping) {
            const response = await fetch(url);
            const text = await response.text();
            scrapeMs.push(performance.now() - tick);
            bytes = text.length;
          }
          await Bun.sleep(Math.max(0, 1000 - (performance.now() - tick)));
        }
        const share = ((cpuSeconds(hearth.pid) - before) / ((performance.now() - started) / 1000)) * 100;
        (scraping ? scraped : unscraped).push(share);
      }
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    scrapeMs.sort((a, b) => a - b);
    const label = `${DEVICES} devices, /metrics scraped at 1 Hz`;
    return [
      compared({
        name: `${label}: hearth CPU (its simulators included)`,
        value: round(mean(scraped)),
        unit: "% of a core",
        limit: { name: "the same hearth unscraped", value: round(mean(unscraped)) },
      }),
      { name: `${label}: scrape time p50`, value: round(percentile(scrapeMs, 50), 3), unit: "ms" },
      { name: `${label}: scrape time p99`, value: round(percentile(scrapeMs, 99), 3), unit: "ms" },
      { name: `${label}: scrape size`, value: round(bytes / 1024, 1), unit: "KiB" },
    ];
  } finally {
    hearth.kill("SIGTERM");
    await Promise.race([hearth.exited, Bun.sleep(10_000)]);
    if (hearth.exitCode === null) hearth.kill("SIGKILL");
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
