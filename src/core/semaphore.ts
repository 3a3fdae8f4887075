import { HearthError } from "./errors.ts";
import { abortReason } from "./task.ts";

interface Waiter {
  grant: (release: () => void) => void;
  reject: (err: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * A counting semaphore with strict FIFO fairness: a permit freed while others wait goes to the one that
 * has waited longest, and a newcomer never overtakes a waiter even if a permit is free at that instant.
 */
export class Semaphore {
  private permits: number;
  private readonly waiters: Waiter[] = [];
  private head = 0;

  constructor(permits = 1) {
    if (!Number.isInteger(permits) || permits < 1) throw new HearthError("INVALID_ARGUMENT", `Semaphore needs at least one permit, got ${permits}`);
    this.permits = permits;
  }

  /** Permits free now. */
  get available(): number {
    return this.permits;
  }

  /** Callers waiting for a permit. */
  get waiting(): number {
    return this.waiters.length - this.head;
  }

  /** Resolves with the function that gives the permit back (calling it twice is harmless). */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.permits > 0 && this.waiting === 0) {
      this.permits--;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { grant: resolve, reject, signal, onAbort: undefined };
      if (signal) {
        waiter.onAbort = () => {
          const i = this.waiters.indexOf(waiter, this.head);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(abortReason(signal));
        };
        signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
      this.waiters.push(waiter);
    });
  }

  /** Takes a permit only if one is free and nobody waits. */
  tryAcquire(): (() => void) | undefined {
    if (this.permits === 0 || this.waiting > 0) return undefined;
    this.permits--;
    return this.releaser();
  }

  /** Runs `fn` holding a permit. */
  async run<T>(fn: () => T | PromiseLike<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release();
    };
  }

  private release(): void {
    const next = this.waiters[this.head];
    if (next === undefined) {
      this.permits++;
      return;
    }
    this.waiters[this.head++] = undefined as unknown as Waiter;
    if (this.head > 1024 && this.head * 2 > this.waiters.length) {
      this.waiters.splice(0, this.head);
      this.head = 0;
    }
    if (next.signal && next.onAbort) next.signal.removeEventListener("abort", next.onAbort);
    next.grant(this.releaser()); // the permit passes straight to the waiter: nobody can barge in
  }
}

/** A mutual-exclusion lock: a one-permit Semaphore that says whether it is held. */
export class Lock {
  private readonly semaphore = new Semaphore(1);

  get locked(): boolean {
    return this.semaphore.available === 0;
  }

  get waiting(): number {
    return this.semaphore.waiting;
  }

  acquire(signal?: AbortSignal): Promise<() => void> {
    return this.semaphore.acquire(signal);
  }

  /** Runs `fn` holding the lock. */
  run<T>(fn: () => T | PromiseLike<T>, signal?: AbortSignal): Promise<T> {
    return this.semaphore.run(fn, signal);
  }
}
