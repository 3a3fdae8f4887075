import { CancelledError, isCancelledError } from "./errors.ts";
import { jobIdFor, jobSlot } from "./job-slot.ts";

/** What a task runs: a promise already under way, or a function started with the task's AbortSignal. */
export type TaskTarget<T> = PromiseLike<T> | ((signal: AbortSignal) => T | PromiseLike<T>);

export type TaskStatus = "pending" | "done" | "failed" | "cancelled";

/** What a task reports when it settles, for the hub to untrack and log it. */
export type TaskObserver = (task: Task<unknown>) => void;

let nextTaskId = 1;

/**
 * A named, cancellable unit of async work (HA's asyncio.Task). Cancellation is cooperative: `cancel()`
 * fires the task's signal, and the task ends when its work returns or throws; work that ignores the
 * signal keeps the task pending, and shutdown abandons it by name after its stage timeout.
 */
export class Task<T = unknown> implements PromiseLike<T> {
  readonly id = nextTaskId++;
  readonly name: string;
  readonly background: boolean;
  readonly cancelOnShutdown: boolean;
  status: TaskStatus = "pending";
  result: T | undefined;
  error: unknown;
  /** True once someone awaited the task: its failure is theirs to handle, so the hub does not log it. */
  observed = false;

  private readonly controller = new AbortController();
  // Typed loosely so that Task<T> stays assignable to Task<unknown> (a resolver typed by T would make it invariant).
  private promise: Promise<unknown> | undefined;
  private resolve: ((value: never) => void) | undefined;
  private reject: ((err: unknown) => void) | undefined;
  private readonly onSettle: TaskObserver | undefined;

  constructor(options: { name: string; background?: boolean; cancelOnShutdown?: boolean; onSettle?: TaskObserver }) {
    this.name = options.name;
    this.background = options.background ?? false;
    this.cancelOnShutdown = options.cancelOnShutdown ?? false;
    this.onSettle = options.onSettle;
  }

  /** Fires when the task is cancelled; long awaits inside the task should honour it. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get done(): boolean {
    return this.status !== "pending";
  }

  get cancelled(): boolean {
    return this.status === "cancelled";
  }

  /** Starts the target now (eager: it runs until its first await before this returns). */
  start(target: TaskTarget<T>): void {
    if (this.controller.signal.aborted) {
      this.fail(abortReason(this.controller.signal)); // cancelled before a lazy start: never runs
      return;
    }
    let value: T | PromiseLike<T>;
    const outer = jobSlot[0]!;
    jobSlot[0] = jobIdFor(this.name); // the first step runs now: the loop monitor can name it
    try {
      value = typeof target === "function" ? target(this.controller.signal) : target;
    } catch (err) {
      this.fail(err);
      return;
    } finally {
      jobSlot[0] = outer;
    }
    if (!isThenable(value)) {
      this.succeed(value);
      return;
    }
    // A coroutine that never awaited has already settled: finish now, as an eager asyncio task does.
    if (value instanceof Promise) {
      const status = Bun.peek.status(value);
      if (status === "fulfilled") {
        this.succeed(Bun.peek(value) as T);
        return;
      }
      if (status === "rejected") {
        const err = Bun.peek(value);
        value.then(undefined, () => {}); // mark handled: the task owns the error now
        this.fail(err);
        return;
      }
    }
    value.then(
      (v) => this.succeed(v),
      (err) => this.fail(err),
    );
  }

  /** Asks the task to stop: fires its signal. Returns false if it had already finished. */
  cancel(reason?: string): boolean {
    if (this.done) return false;
    if (!this.controller.signal.aborted) this.controller.abort(new CancelledError(reason ?? `Task ${this.name} cancelled`));
    return true;
  }

  // biome-ignore lint/suspicious/noThenProperty: a Task is awaitable on purpose, like an asyncio task.
  then<R1 = T, R2 = never>(onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null, onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null): Promise<R1 | R2> {
    this.observed = true;
    return this.settled().then(onfulfilled, onrejected);
  }

  /** A promise of the outcome, without marking the task observed (the hub waits on this). */
  settled(): Promise<T> {
    if (!this.promise) {
      if (this.status === "done") this.promise = Promise.resolve(this.result as T);
      else if (this.status === "pending")
        this.promise = new Promise<T>((resolve, reject) => {
          this.resolve = resolve as (value: never) => void;
          this.reject = reject;
        });
      else {
        this.promise = Promise.reject(this.error);
      }
      this.promise.catch(() => {}); // the hub logs unobserved failures; never an unhandled rejection
    }
    return this.promise as Promise<T>;
  }

  private succeed(value: T): void {
    if (this.done) return;
    this.status = "done";
    this.result = value;
    (this.resolve as ((v: T) => void) | undefined)?.(value);
    this.onSettle?.(this as Task<unknown>);
  }

  private fail(err: unknown): void {
    if (this.done) return;
    this.status = this.controller.signal.aborted && isCancelledError(err) ? "cancelled" : "failed";
    this.error = err;
    this.reject?.(err);
    this.onSettle?.(this as Task<unknown>);
  }

  toString(): string {
    return `<Task ${this.name} ${this.status}>`;
  }
}

function isThenable<T>(value: unknown): value is PromiseLike<T> {
  return (typeof value === "object" || typeof value === "function") && value !== null && typeof (value as { then?: unknown }).then === "function";
}

/** The error a fired signal carries, as a CancelledError unless it carries its own. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason instanceof Error ? signal.reason : new CancelledError(String(signal.reason ?? "Aborted"));
}
