/**
 * The shape every benchmark suite returns (one row of the table, one element of `results` in --json),
 * and how a row's ratio to its limit is computed.
 */

/** One measured figure and, when the suite measured one in the same run, the limit it is judged against. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  limit?: { name: string; value: number };
  /** hearth's cost over the limit's cost for the same work: 1.0 is at the limit, lower is better. */
  ratio?: number;
  /** The ratio the issue asks for; met when `ratio <= goal`. */
  goal?: number;
}

/**
 * Whether a figure is a rate (more is better: events/s, jobs/s, bytes/s) or a cost (less is better:
 * seconds, ms per job, latency). Units ending in "/s" are rates unless said otherwise.
 */
export type Measure = "rate" | "cost";

/** The measure a unit implies: "events/s" is a rate, "ms" or "µs/job" a cost. */
export function measureOf(unit: string): Measure {
  return unit.endsWith("/s") ? "rate" : "cost";
}

/**
 * hearth's cost over the limit's cost for the same work, so that the ratio always reads the same way
 * (1.0 at the limit, lower is better). For a rate the cost is its inverse: ratio = limit / value
 * (the limit does 50 M events/s, hearth 10 M: ratio 5). For a cost (time, latency): ratio = value / limit.
 */
export function costRatio(value: number, limit: number, measure: Measure): number {
  return measure === "rate" ? limit / value : value / limit;
}

/** Rounds a ratio for display and JSON (two decimals). */
export function roundRatio(ratio: number): number {
  return Math.round(ratio * 100) / 100;
}

/**
 * A row with its limit, the ratio computed from the two, and the goal if there is one.
 * `measure` defaults to what the unit implies (see measureOf).
 */
export function compared(options: { name: string; value: number; unit: string; limit: { name: string; value: number }; goal?: number; measure?: Measure }): BenchResult {
  const { name, value, unit, limit, goal } = options;
  const ratio = roundRatio(costRatio(value, limit.value, options.measure ?? measureOf(unit)));
  return goal === undefined ? { name, value, unit, limit, ratio } : { name, value, unit, limit, ratio, goal };
}

/** Whether a row met its goal; undefined when it has none (or no ratio to judge). */
export function goalMet(result: BenchResult): boolean | undefined {
  if (result.goal === undefined || result.ratio === undefined) return undefined;
  return result.ratio <= result.goal;
}

/** Whether something a suite returned has the shape of a BenchResult (the runner checks before printing). */
export function isBenchResult(value: unknown): value is BenchResult {
  if (typeof value !== "object" || value === null) return false;
  const r = value as Record<string, unknown>;
  if (typeof r.name !== "string" || typeof r.value !== "number" || typeof r.unit !== "string") return false;
  if (r.limit !== undefined) {
    const l = r.limit as Record<string, unknown> | null;
    if (typeof l !== "object" || l === null || typeof l.name !== "string" || typeof l.value !== "number") return false;
  }
  return (r.ratio === undefined || typeof r.ratio === "number") && (r.goal === undefined || typeof r.goal === "number");
}
