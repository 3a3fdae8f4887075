/** One job of the pool, from submit until it settles. */

import type { PoolWorker } from "./pool-worker.ts";
import type { ExecutorTask } from "./registered-task.ts";

/** A job, its promise's settlers, and where it is: in the queue, or held by a Worker in a slot. */
export class PoolJob {
  resolve: (value: unknown) => void = noop;
  reject: (err: unknown) => void = noop;
  /** Listener on `signal`, removed when the job settles. */
  onAbort: (() => void) | undefined = undefined;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** The Worker holding it, and its slot there; undefined while in the pool's queue. */
  worker: PoolWorker | undefined = undefined;
  slot = -1;
  done = false;

  constructor(
    readonly task: ExecutorTask<unknown[], unknown>,
    readonly taskId: number,
    readonly args: unknown[],
    /** Milliseconds it may run; 0 for no limit. */
    readonly timeoutMs: number,
    readonly signal: AbortSignal | undefined,
    /** performance.now() at submit. */
    readonly submitted: number,
  ) {}

  /** Settles it with a result or an error; clears its timer and abort listener. */
  settle(ok: boolean, value: unknown): void {
    this.done = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.onAbort !== undefined) this.signal!.removeEventListener("abort", this.onAbort);
    if (ok) this.resolve(value);
    else this.reject(value);
  }

  /** Stops its timeout: it goes back to the queue, and its time starts again when it next runs. */
  unstart(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.worker = undefined;
  }
}

function noop(): void {}
