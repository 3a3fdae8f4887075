/** One Worker of the pool, seen from the loop: its slots and the jobs it holds, oldest (running) first. */
import type { SerializedError } from "./errors.ts";
import type { PoolJob } from "./pool-job.ts";
import { CANCELLED, DEFINE, jobHeader, type PoolInit, QUEUED, WINDOW } from "./protocol.ts";
import { endWorker } from "./spawn.ts";

/** What a pool Worker reports to its pool. */
export interface PoolWorkerEvents {
  message(worker: PoolWorker, data: unknown): void;
  close(worker: PoolWorker, exitCode: number): void;
}

/**
 * A Worker and the jobs sent to it (up to WINDOW, so the next is already there when one ends). Jobs
 * run in the order sent; `jobs[0]` is the one running. A withdrawn job leaves `undefined` in its place
 * until the Worker's SKIPPED for it arrives, so outcomes always match the oldest entry. `start()` tells
 * the Worker it is a pool Worker and begins hearing from it.
 */
export class PoolWorker {
  readonly worker: Worker;
  readonly slots = new Int32Array(new SharedArrayBuffer(WINDOW * 4));
  readonly jobs: Array<PoolJob | undefined> = [];
  /** Set once terminated by the pool or gone by itself: its messages and close no longer count. */
  retired = false;
  /** What killed it, as the Worker said just before dying. */
  fatal: SerializedError | undefined;
  /** Whether it ever sent an outcome (a Worker that dies before any cannot start at all). */
  answered = false;
  private sent = 0;
  private readonly known: boolean[] = [];
  private referenced = true;
  private started = false;

  constructor(
    /** A Worker just spawned on the executor's entry, not yet told anything. */
    worker: Worker,
    private readonly closing: SharedArrayBuffer,
    private readonly events: PoolWorkerEvents,
  ) {
    this.worker = worker;
  }

  /** Listens to the Worker and hands it its slots. A second call does nothing. */
  start(): void {
    if (this.started) return;
    this.started = true;
    const { worker, events } = this;
    worker.onmessage = (event: MessageEvent) => events.message(this, event.data);
    worker.addEventListener("close", (event: Event) => {
      if (!this.retired) events.close(this, (event as CloseEvent).code);
    });
    const init: PoolInit = { kind: "pool", slots: this.slots.buffer as SharedArrayBuffer, closing: this.closing };
    worker.postMessage(init);
  }

  /** Hands jobs to the Worker in one message. Throws, holding none of them, when an argument cannot be cloned. */
  send(jobs: readonly PoolJob[]): void {
    const message: unknown[] = [];
    let sent = this.sent;
    for (const job of jobs) {
      const id = job.taskId;
      if (this.known[id] !== true) {
        this.worker.postMessage([DEFINE, id, job.task.moduleUrl, job.task.name]);
        this.known[id] = true;
      }
      const slot = sent++ % WINDOW;
      Atomics.store(this.slots, slot, QUEUED);
      const args = job.args;
      message.push(jobHeader(slot, job.timeoutMs > 0 || job.signal !== undefined, args.length, id));
      for (let i = 0; i < args.length; i++) message.push(args[i]);
    }
    this.worker.postMessage(message);
    for (const job of jobs) {
      job.worker = this;
      job.slot = this.sent++ % WINDOW;
      this.jobs.push(job);
    }
    if (!this.referenced) {
      this.worker.ref();
      this.referenced = true;
    }
  }

  /** Withdraws a job the Worker has not started; false if it already has. */
  withdraw(job: PoolJob): boolean {
    if (Atomics.compareExchange(this.slots, job.slot, QUEUED, CANCELLED) !== QUEUED) return false;
    const index = this.jobs.indexOf(job);
    if (index >= 0) this.jobs[index] = undefined;
    job.worker = undefined;
    return true;
  }

  /** Lets the process exit while this Worker idles. */
  idle(): void {
    if (this.referenced) {
      this.worker.unref();
      this.referenced = false;
    }
  }

  /** Terminates the Worker; it reports nothing more. */
  retire(): void {
    if (this.retired) return;
    this.retired = true;
    this.worker.onmessage = null;
    endWorker(this.worker);
  }
}
