/** Capped exponential backoff with jitter, for reopening a port that went away. */
export interface BackoffOptions {
  /** Delay before the first retry, ms (default 250). */
  initialMs?: number;
  /** Longest delay, ms, jitter included (default 10 000). */
  maxMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** Spread as a fraction of the delay, ±(default 0.2): links that lost one hub do not retry in step. */
  jitter?: number;
}

/** The delay before retry number `attempt` (0 for the first); `random` returns [0, 1). */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const initial = options.initialMs ?? 250;
  const max = options.maxMs ?? 10_000;
  const factor = options.factor ?? 2;
  const jitter = options.jitter ?? 0.2;
  const base = Math.min(max, initial * factor ** Math.max(0, attempt));
  const spread = base * jitter * (2 * random() - 1);
  return Math.max(0, Math.min(max, Math.round(base + spread)));
}
