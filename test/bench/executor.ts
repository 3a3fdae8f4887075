/**
 * `npm run bench -- executor`: 10,000 trivial jobs through hearth's Worker pool, against the same round
 * trips through a bare Worker and postMessage (the limit), in the same run and alternately.
 *
 * - throughput: all jobs submitted at once, time until the last result is back (jobs/s). The limit
 *   posts all its messages at once to one bare Worker that echoes each.
 * - latency: one job at a time, each timed from submit to result (p50, p99), alternating with one
 *   postMessage round trip of the limit at a time.
 *
 * Both sides use one Worker (the pool is made with `workers: 1`), started and warmed before timing.
 * This module is also what the pool's Worker imports to find `trivial`: nothing runs at import time.
 */

import { Executor } from "../../src/core/executor/executor.ts";
import { executorTask } from "../../src/core/executor/registered-task.ts";
import { Hub } from "../../src/core/hub.ts";
import { type BenchResult, compared } from "./result.ts";

const JOBS = 10_000;
/** Throughput rounds are short (tens of ms), so many; latency rounds take a second or so each. */
const THROUGHPUT_ROUNDS = 15;
const LATENCY_ROUNDS = 3;
/** Goals as cost ratios (issue 3): throughput at least 0.7x the bare round trip, p50 latency at most 1.5x. */
const GOAL_THROUGHPUT = Math.round((1 / 0.7) * 100) / 100;
const GOAL_P50 = 1.5;
const LIMIT_NAME = "bare Worker postMessage";

/** The trivial job: gives its number back. */
export const trivial = executorTask(import.meta.url, "trivial", (n: number) => n);

/** The limit's Worker: echoes every message, nothing else. */
const ECHO_SOURCE = "self.onmessage = (event) => self.postMessage(event.data);";

function bareWorker(): Worker {
  const url = URL.createObjectURL(new Blob([ECHO_SOURCE], { type: "application/javascript" }));
  return new Worker(url);
}

interface Round {
  /** Seconds for JOBS jobs, all submitted at once. */
  seconds: number;
}

interface LatencyRound {
  p50: number;
  p99: number;
}

async function poolThroughput(pool: Executor): Promise<Round> {
  const pending = new Array<Promise<number>>(JOBS);
  const start = performance.now();
  for (let i = 0; i < JOBS; i++) pending[i] = pool.submit(trivial, [i]);
  const results = await Promise.all(pending);
  const seconds = (performance.now() - start) / 1000;
  if (results[JOBS - 1] !== JOBS - 1) throw new Error("pool: wrong result");
  return { seconds };
}

function bareThroughput(worker: Worker): Promise<Round> {
  return new Promise((resolve, reject) => {
    let received = 0;
    worker.onmessage = (event: MessageEvent<number>) => {
      if (++received < JOBS) return;
      const seconds = (performance.now() - start) / 1000;
      if (event.data !== JOBS - 1) reject(new Error("bare: wrong result"));
      resolve({ seconds });
    };
    const start = performance.now();
    for (let i = 0; i < JOBS; i++) worker.postMessage(i);
  });
}

/**
 * Latency, one round trip at a time, hearth's and the limit's taken in turn: the time a Worker takes to
 * wake varies with the machine's state (here it flips between about 10 and 30 µs), and taking the two
 * alternately gives both the same states.
 */
async function latencies(pool: Executor, worker: Worker): Promise<{ pool: LatencyRound; bare: LatencyRound }> {
  const poolSamples = new Float64Array(JOBS);
  const bareSamples = new Float64Array(JOBS);
  let next: ((value: number) => void) | undefined;
  worker.onmessage = (event: MessageEvent<number>) => next?.(event.data);
  const bareRoundTrip = (i: number) =>
    new Promise<number>((resolve) => {
      next = resolve;
      worker.postMessage(i);
    });
  for (let i = 0; i < JOBS; i++) {
    let start = performance.now();
    await pool.submit(trivial, [i]);
    poolSamples[i] = performance.now() - start;
    start = performance.now();
    await bareRoundTrip(i);
    bareSamples[i] = performance.now() - start;
  }
  return { pool: percentiles(poolSamples), bare: percentiles(bareSamples) };
}

function percentiles(samples: Float64Array): LatencyRound {
  const sorted = samples.slice().sort();
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]! * 1000;
  return { p50: at(0.5), p99: at(0.99) };
}

/** Runs the suite: returns throughput and p50/p99 latency, each against the bare Worker. */
export async function run(): Promise<BenchResult[]> {
  const hub = new Hub();
  const pool = new Executor({ hub, workers: 1 });
  const worker = bareWorker();
  try {
    // Warm-up: both Workers started, both paths compiled.
    await poolThroughput(pool);
    await bareThroughput(worker);
    let poolBest = Number.POSITIVE_INFINITY;
    let bareBest = Number.POSITIVE_INFINITY;
    const poolLat: LatencyRound = { p50: Number.POSITIVE_INFINITY, p99: Number.POSITIVE_INFINITY };
    const bareLat: LatencyRound = { p50: Number.POSITIVE_INFINITY, p99: Number.POSITIVE_INFINITY };
    for (let round = 0; round < THROUGHPUT_ROUNDS; round++) {
      Bun.gc(true);
      bareBest = Math.min(bareBest, (await bareThroughput(worker)).seconds);
      Bun.gc(true);
      poolBest = Math.min(poolBest, (await poolThroughput(pool)).seconds);
    }
    for (let round = 0; round < LATENCY_ROUNDS; round++) {
      Bun.gc(true);
      const { pool: p, bare: b } = await latencies(pool, worker);
      bareLat.p50 = Math.min(bareLat.p50, b.p50);
      bareLat.p99 = Math.min(bareLat.p99, b.p99);
      poolLat.p50 = Math.min(poolLat.p50, p.p50);
      poolLat.p99 = Math.min(poolLat.p99, p.p99);
    }
    const round1 = (n: number) => Math.round(n * 10) / 10;
    return [
      compared({
        name: "executor_jobs",
        value: Math.round(JOBS / poolBest),
        unit: "jobs/s",
        limit: { name: LIMIT_NAME, value: Math.round(JOBS / bareBest) },
        goal: GOAL_THROUGHPUT,
      }),
      compared({ name: "executor_latency_p50", value: round1(poolLat.p50), unit: "µs", limit: { name: LIMIT_NAME, value: round1(bareLat.p50) }, goal: GOAL_P50 }),
      compared({ name: "executor_latency_p99", value: round1(poolLat.p99), unit: "µs", limit: { name: LIMIT_NAME, value: round1(bareLat.p99) } }),
    ];
  } finally {
    worker.terminate();
    await pool.shutdown(1000);
  }
}
