import type { Clock, TimerHandle } from "./clock.ts";
import type { Logger } from "./logger.ts";

/** Occurrences of one key let through in an interval before the rest are only counted. */
export const LOG_BURST = 5;
/** The length of that interval, ms. */
export const LOG_INTERVAL_MS = 60_000;

/** The levels a limited line may have. */
export type LimitedLevel = "trace" | "debug" | "info" | "warn" | "error";

/** Told at the end of an interval how many occurrences were held back in it, and over how many seconds. */
export type HeldBack = (count: number, seconds: number) => void;

interface Window {
  startedAt: number;
  passed: number;
  held: number;
  timer: TimerHandle;
  onHeld: HeldBack | undefined;
}

/**
 * Rate-limits repeated log lines, and other repeated reports such as a device's reboot events, by key:
 * in each interval the first `burst` occurrences of a key go ahead, the rest are counted, and when the
 * interval ends the count is told once ("… repeated 4,995 more times in the last 60 s"). So a device
 * flooding its line costs a few lines a minute, not one per line, and nothing goes uncounted.
 * A key names a kind of line chosen by the code ("device error"), never outside input, so keys stay few.
 */
export class LogLimiter {
  private readonly deps: { log?: Logger; clock: Clock; burst?: number; intervalMs?: number };
  private readonly windows = new Map<string, Window>();

  constructor(deps: { log?: Logger; clock: Clock; burst?: number; intervalMs?: number }) {
    this.deps = deps;
  }

  private get burst(): number {
    return this.deps.burst ?? LOG_BURST;
  }

  private get intervalMs(): number {
    return this.deps.intervalMs ?? LOG_INTERVAL_MS;
  }

  /**
   * Whether this occurrence of `key` goes ahead. When it does not, it is counted, and at the end of the
   * interval `onHeld` is called once with the count (the `onHeld` of the last occurrence held back wins).
   */
  allow(key: string, onHeld: HeldBack): boolean {
    const { clock } = this.deps;
    let window = this.windows.get(key);
    if (window === undefined) {
      const timer = clock.setTimeout(() => this.close(key, this.intervalMs / 1000), this.intervalMs);
      window = { startedAt: clock.now(), passed: 0, held: 0, timer, onHeld: undefined };
      this.windows.set(key, window);
    }
    if (window.passed < this.burst) {
      window.passed++;
      return true;
    }
    window.held++;
    window.onHeld = onHeld;
    return false;
  }

  /** Logs one line at `level` unless its key is over its limit; then one line per interval says how many were held back. */
  log(level: LimitedLevel, key: string, fields: Record<string, unknown>, message: string): void {
    const log = this.deps.log;
    if (log === undefined) return;
    const go = this.allow(key, (count, seconds) => {
      log[level]({ ...fields, repeated: count }, `${message} (repeated ${count} more ${count === 1 ? "time" : "times"} in the last ${seconds} s)`);
    });
    if (go) log[level](fields, message);
  }

  /** Clears the timers; counts held back so far are told now. Safe to call twice. */
  stop(): void {
    const now = this.deps.clock.now();
    for (const [key, window] of [...this.windows]) this.close(key, Math.max(1, Math.round((now - window.startedAt) / 1000)));
  }

  private close(key: string, seconds: number): void {
    const window = this.windows.get(key);
    if (window === undefined) return;
    this.windows.delete(key);
    this.deps.clock.clearTimeout(window.timer);
    if (window.held > 0) window.onHeld?.(window.held, seconds);
  }
}
