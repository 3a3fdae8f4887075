/**
 * Timing for benchmark suites: warm-up, repetitions, and hearth measured interleaved with its limit
 * so that both see the same machine (same CPU frequency, same neighbours) in the same run.
 */

/** A workload: sets up outside the timing, runs, checks its own result, and returns the seconds it ran. */
export type Workload = () => number;

/** How many times timePair runs each side. */
export interface RepeatOptions {
  /** Runs thrown away first, so the JIT has compiled both sides at their top tier. */
  warmups?: number;
  /** Timed runs; the best is kept. */
  repeats?: number;
}

/** Best (shortest) seconds of hearth's workload and of the limit's, each run alternately. */
export interface PairTiming {
  hearth: number;
  limit: number;
}

/**
 * Runs `hearth` and `limit` alternately (warm-ups first) and keeps the best time of each.
 * Best rather than median: on a shared machine interference only ever adds time, so the fastest run is
 * the closest estimate of the code's own cost, and taking the same statistic on both sides keeps the
 * ratio fair.
 */
export function timePair(hearth: Workload, limit: Workload, options: RepeatOptions = {}): PairTiming {
  const warmups = options.warmups ?? 3;
  const repeats = options.repeats ?? 7;
  for (let i = 0; i < warmups; i++) {
    limit();
    hearth();
  }
  let bestHearth = Number.POSITIVE_INFINITY;
  let bestLimit = Number.POSITIVE_INFINITY;
  for (let i = 0; i < repeats; i++) {
    // A full collection first, so neither side pays for the other's garbage.
    Bun.gc(true);
    bestLimit = Math.min(bestLimit, limit());
    Bun.gc(true);
    bestHearth = Math.min(bestHearth, hearth());
  }
  return { hearth: bestHearth, limit: bestLimit };
}

/** Seconds since `start` (a performance.now() reading). */
export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}

/** `count` operations in `seconds`, as a whole number per second. */
export function perSecond(count: number, seconds: number): number {
  return Math.round(count / seconds);
}
