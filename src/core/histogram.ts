/**
 * A histogram of fixed buckets, for figures a scrape reads as Prometheus histograms (command latency,
 * loop lag, executor latency). Recording is a short scan of a few bounds and two additions, cheap enough
 * for every command or loop tick; nothing is sorted or kept per sample, unlike `LatencyWindow`.
 */

/** What a reader sees: counts per upper bound (not cumulative), the sum and the count of observations. */
export interface HistogramSnapshot {
  /** Upper bounds, ascending, in the unit observed (seconds for hearth's). */
  readonly bounds: readonly number[];
  /** Observations at or below each bound and above the one before; one more entry for those above the last. */
  readonly counts: readonly number[];
  readonly sum: number;
  readonly count: number;
}

/** Seconds bounds for latencies of a few milliseconds to tens of seconds (commands on a serial line, executor jobs). */
export const LATENCY_BUCKETS_S: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Seconds bounds for event-loop lag: a healthy loop lags well under a millisecond, a held one for hundreds. */
export const LAG_BUCKETS_S: readonly number[] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];

export class Histogram {
  private readonly bounds: readonly number[];
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(bounds: readonly number[]) {
    for (let i = 1; i < bounds.length; i++) if (!(bounds[i]! > bounds[i - 1]!)) throw new RangeError("histogram bounds must ascend");
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    this.counts[i] = this.counts[i]! + 1;
    this.sum += value;
    this.count++;
  }

  snapshot(): HistogramSnapshot {
    return { bounds: this.bounds, counts: [...this.counts], sum: this.sum, count: this.count };
  }
}
