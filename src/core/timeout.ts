import type { Clock, TimerHandle } from "./clock.ts";
import { HearthError, TimeoutError } from "./errors.ts";
import { abortable } from "./wait.ts";

/** Work a timeout bounds: a promise, or a function given the scope's AbortSignal (fired at the timeout). */
export type TimedWork<T> = PromiseLike<T> | ((signal: AbortSignal) => PromiseLike<T>);

/**
 * One bounded wait. Its clock runs while no freeze covers its zone; when it runs out it fires its signal
 * and `run` rejects with TimeoutError.
 */
export class TimeoutScope {
  readonly zone: string | undefined;
  private readonly manager: TimeoutManager;
  private readonly controller = new AbortController();
  private remaining: number;
  private startedAt = 0;
  private timer: TimerHandle | undefined;
  private finished = false;

  constructor(manager: TimeoutManager, seconds: number, zone: string | undefined) {
    this.manager = manager;
    this.zone = zone;
    this.remaining = Math.max(0, seconds * 1000);
  }

  /** Fires when time runs out. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get expired(): boolean {
    return this.controller.signal.aborted;
  }

  /** Milliseconds left on this scope's clock. */
  get remainingMs(): number {
    return this.timer === undefined ? this.remaining : Math.max(0, this.remaining - (this.manager.clock.now() - this.startedAt));
  }

  /** Waits for `work`, rejecting with TimeoutError when the scope runs out first. */
  async run<T>(work: TimedWork<T>): Promise<T> {
    if (this.finished) throw new HearthError("INVALID_ARGUMENT", "A timeout scope bounds one wait; make a new one with asyncTimeout()");
    this.manager.enter(this);
    try {
      const promise = typeof work === "function" ? work(this.controller.signal) : work;
      return await abortable(promise, this.controller.signal);
    } finally {
      this.finish();
    }
  }

  /** @internal Starts or resumes the clock. */
  resume(): void {
    if (this.finished || this.timer !== undefined || this.expired) return;
    this.startedAt = this.manager.clock.now();
    this.timer = this.manager.clock.setTimeout(() => this.expire(), this.remaining);
  }

  /** @internal Stops the clock, keeping the time left. */
  pause(): void {
    if (this.timer === undefined) return;
    this.manager.clock.clearTimeout(this.timer);
    this.remaining = Math.max(0, this.remaining - (this.manager.clock.now() - this.startedAt));
    this.timer = undefined;
  }

  private expire(): void {
    this.timer = undefined;
    this.remaining = 0;
    const where = this.zone === undefined ? "" : ` in zone ${this.zone}`;
    this.controller.abort(new TimeoutError(`Timed out${where}`));
  }

  private finish(): void {
    this.finished = true;
    this.pause();
    this.manager.leave(this);
  }
}

/** A freeze in force; `release()` (or leaving a `using` block) lets the clocks run again. */
export interface Freeze extends Disposable {
  release(): void;
}

/**
 * Timeouts grouped in zones (HA's TimeoutManager): `asyncTimeout(seconds, { zone }).run(work)` bounds a wait;
 * `freeze(zone)` pauses the clocks of that zone (every zone when none is named) while a known-slow step runs.
 */
export class TimeoutManager {
  readonly clock: Clock;
  private readonly active = new Set<TimeoutScope>();
  private readonly zoneFreezes = new Map<string, number>();
  private globalFreezes = 0;

  constructor(deps: { clock: Clock }) {
    this.clock = deps.clock;
  }

  /** A timeout of `seconds`, in `zone` if given; call `.run(work)` on it. */
  asyncTimeout(seconds: number, options: { zone?: string } = {}): TimeoutScope {
    return new TimeoutScope(this, seconds, options.zone);
  }

  /** Pauses the clocks of `zone` (or of every zone) until released. Freezes nest. */
  freeze(zone?: string): Freeze {
    if (zone === undefined) this.globalFreezes++;
    else this.zoneFreezes.set(zone, (this.zoneFreezes.get(zone) ?? 0) + 1);
    for (const scope of this.active) if (this.isFrozen(scope.zone)) scope.pause();
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      if (zone === undefined) this.globalFreezes--;
      else {
        const n = (this.zoneFreezes.get(zone) ?? 1) - 1;
        if (n === 0) this.zoneFreezes.delete(zone);
        else this.zoneFreezes.set(zone, n);
      }
      for (const scope of this.active) if (!this.isFrozen(scope.zone)) scope.resume();
    };
    return { release, [Symbol.dispose]: release };
  }

  /** Whether a zone's clocks are paused now. */
  isFrozen(zone: string | undefined): boolean {
    return this.globalFreezes > 0 || (zone !== undefined && (this.zoneFreezes.get(zone) ?? 0) > 0);
  }

  /** @internal */
  enter(scope: TimeoutScope): void {
    this.active.add(scope);
    if (!this.isFrozen(scope.zone)) scope.resume();
  }

  /** @internal */
  leave(scope: TimeoutScope): void {
    this.active.delete(scope);
  }
}
