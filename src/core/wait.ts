import type { Clock, TimerHandle } from "./clock.ts";
import { TimeoutError } from "./errors.ts";
import { abortReason } from "./task.ts";

/** What ends a wait early: an AbortSignal (the wait rejects with its reason), and a time limit on a clock. */
export interface WaitBounds<T> {
  signal?: AbortSignal;
  /** Milliseconds the wait may take; then `onTimeout` ends it. */
  timeoutMs?: number;
  /** The clock the time limit runs on (the hub's, so that a test can drive it); the runtime's timers by default. */
  clock?: Clock;
  /** What a wait that ran out of time resolves with; it throws to reject (by default a TimeoutError). */
  onTimeout?: () => T;
}

/**
 * Starts what a wait waits for: it settles the wait through `resolve`/`reject`, and may return how to undo
 * itself (remove a listener, forget a pending entry), which runs once the wait is over, however it ended.
 */
export type WaitStart<T> = (resolve: (value: T) => void, reject: (err: unknown) => void) => (() => void) | undefined;

// Without a clock a wait keeps the process alive, as a bare setTimeout does (systemClock unrefs its timers).
const runtimeTimers: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * The one way hearth races a wait against an AbortSignal and a timer: waits for `work` (a promise, or a
 * WaitStart) until the signal fires or `timeoutMs` runs out, whichever comes first, and then removes the
 * abort listener, clears the timer and undoes what the start set up. A signal already fired rejects at once.
 */
export function boundedWait<T>(work: PromiseLike<T> | WaitStart<T>, bounds: WaitBounds<T> = {}): Promise<T> {
  const { signal, timeoutMs } = bounds;
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  const clock = bounds.clock ?? runtimeTimers;
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let undo: (() => void) | undefined;
    let timer: TimerHandle | undefined;
    const settle = (ok: boolean, value: unknown) => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      undo?.();
      if (ok) resolve(value as T);
      else reject(value);
    };
    const onAbort = () => settle(false, abortReason(signal!));
    signal?.addEventListener("abort", onAbort, { once: true });
    if (timeoutMs !== undefined) {
      timer = clock.setTimeout(() => {
        timer = undefined;
        try {
          settle(true, bounds.onTimeout === undefined ? timedOut(timeoutMs) : bounds.onTimeout());
        } catch (err) {
          settle(false, err);
        }
      }, timeoutMs);
    }
    try {
      if (typeof work === "function")
        undo = work(
          (value) => settle(true, value),
          (err) => settle(false, err),
        );
      else
        work.then(
          (value) => settle(true, value),
          (err) => settle(false, err),
        );
    } catch (err) {
      settle(false, err);
    }
    if (settled) undo?.(); // settled while starting, before its undo was known
  });
}

function timedOut(ms: number): never {
  throw new TimeoutError(`Timed out after ${ms} ms`);
}

/** Resolves after `ms` (on `clock` when given), or rejects with CancelledError when `signal` fires first. */
export function sleep(ms: number, signal?: AbortSignal, clock?: Clock): Promise<void> {
  return boundedWait<void>(() => {}, { signal, timeoutMs: ms, clock, onTimeout: () => undefined });
}

/** Waits for `promise`, but rejects as soon as `signal` fires (the promise's work is not stopped). */
export function abortable<T>(promise: PromiseLike<T>, signal: AbortSignal): Promise<T> {
  return boundedWait(promise, { signal });
}

/** Whether `promise` settles (either way) within `ms`. */
export function within(promise: PromiseLike<unknown>, ms: number, clock?: Clock): Promise<boolean> {
  return boundedWait<boolean>(
    (resolve) => {
      promise.then(
        () => resolve(true),
        () => resolve(true),
      );
    },
    { timeoutMs: ms, clock, onTimeout: () => false },
  );
}
