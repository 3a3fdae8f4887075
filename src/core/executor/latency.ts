/** Percentiles of a bounded window of recent latencies, for the executor's stats. */
export interface LatencyPercentiles {
  /** Milliseconds; 0 when no job has finished yet. */
  p50: number;
  p90: number;
  p99: number;
  /** How many recent jobs the figures cover (at most the window's size). */
  samples: number;
}

/** The last `size` latencies in a ring; percentiles are computed when asked, never per job. */
export class LatencyWindow {
  private readonly ring: Float64Array;
  private count = 0;
  private next = 0;

  constructor(size = 1024) {
    this.ring = new Float64Array(size);
  }

  add(ms: number): void {
    this.ring[this.next] = ms;
    this.next = this.next + 1 === this.ring.length ? 0 : this.next + 1;
    if (this.count < this.ring.length) this.count++;
  }

  percentiles(): LatencyPercentiles {
    const n = this.count;
    if (n === 0) return { p50: 0, p90: 0, p99: 0, samples: 0 };
    const sorted = this.ring.slice(0, n).sort();
    // Nearest rank: the smallest sample with at least p% of the samples at or below it.
    const at = (p: number) => round(sorted[Math.min(n - 1, Math.ceil((p / 100) * n) - 1)]!);
    return { p50: at(50), p90: at(90), p99: at(99), samples: n };
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
