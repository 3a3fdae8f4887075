/**
 * Which pool Worker gets which queued job: one FIFO queue, Workers started as jobs need them, jobs sent
 * in batches, and a Worker gone idle taking over jobs another has not started.
 */
import { HearthError } from "../errors.ts";
import { Deque } from "./deque.ts";
import type { PoolJob } from "./pool-job.ts";
import type { PoolWorker } from "./pool-worker.ts";
import { REFILL_AT, WINDOW } from "./protocol.ts";

/** What the dispatcher needs of its pool. */
export interface DispatcherDeps {
  maxWorkers: number;
  /** Starts a pool Worker. */
  spawn: () => PoolWorker;
  /** A job became the oldest its Worker holds: it runs now. */
  started: (job: PoolJob) => void;
  /** A job whose arguments cannot be sent to a Worker. */
  unsendable: (job: PoolJob, err: Error) => void;
}

/** The pool's queue and Workers, and the rules for sending one to the other. */
export class Dispatcher {
  /** The Workers started, oldest first. */
  readonly workers: PoolWorker[] = [];
  /** Jobs in the queue not yet settled (an aborted one stays there until dequeued). */
  waiting = 0;
  /** Set at shutdown: nothing more is sent. */
  stopped = false;
  private readonly queue = new Deque<PoolJob>();
  private readonly deps: DispatcherDeps;

  constructor(deps: DispatcherDeps) {
    this.deps = deps;
  }

  push(job: PoolJob): void {
    this.queue.push(job);
    this.waiting++;
  }

  /** Puts a job back at the front: it was sent to a Worker that never started it. */
  pushFront(job: PoolJob): void {
    job.unstart();
    this.queue.unshift(job);
    this.waiting++;
  }

  /** A queued job was settled (aborted): it stays in the queue, skipped when its turn comes. */
  forget(): void {
    this.waiting--;
  }

  /** Empties the queue; returns the jobs still unsettled. */
  drain(): PoolJob[] {
    this.waiting = 0;
    return this.queue.drain().filter((job) => !job.done);
  }

  /**
   * Sends queued jobs to Workers with room, in batches: spread evenly over the Workers that are idle or
   * may still be started, the rest to busy ones that have worked their share down to REFILL_AT.
   */
  pump(): void {
    if (this.waiting === 0 || this.stopped) return;
    let spare = this.deps.maxWorkers - this.workers.length;
    for (const worker of this.workers) if (worker.jobs.length === 0) spare++;
    while (this.waiting > 0) {
      const worker = this.pick();
      if (worker === undefined) return;
      if (worker.jobs.length === 0) spare--;
      const count = Math.min(Math.max(1, Math.floor(this.waiting / (spare + 1))), WINDOW - worker.jobs.length);
      const batch: PoolJob[] = [];
      while (batch.length < count) {
        const job = this.queue.shift()!;
        if (!job.done) batch.push(job);
      }
      this.waiting -= count;
      this.send(worker, batch);
    }
  }

  /** Gives an idle Worker half the jobs not yet started by the busiest other one (a long job must not hold up short ones behind it). */
  takeOver(idle: PoolWorker): void {
    if (this.stopped) return;
    let victim: PoolWorker | undefined;
    let most = 0;
    for (const worker of this.workers) {
      if (worker === idle) continue;
      let waiting = 0;
      for (let i = 1; i < worker.jobs.length; i++) if (worker.jobs[i] !== undefined) waiting++;
      if (waiting > most) {
        most = waiting;
        victim = worker;
      }
    }
    if (victim === undefined) return;
    const taken: PoolJob[] = [];
    for (let i = victim.jobs.length - 1; i >= 1 && taken.length < Math.ceil(most / 2); i--) {
      const job = victim.jobs[i];
      if (job !== undefined && victim.withdraw(job)) taken.push(job);
    }
    this.send(idle, taken.reverse());
  }

  /** Terminates a Worker and forgets it. */
  remove(worker: PoolWorker): void {
    worker.retire();
    const index = this.workers.indexOf(worker);
    if (index >= 0) this.workers.splice(index, 1);
  }

  /** An idle Worker, else a new one while below the limit, else the least loaded one down to REFILL_AT. */
  private pick(): PoolWorker | undefined {
    let best: PoolWorker | undefined;
    for (const worker of this.workers) {
      const held = worker.jobs.length;
      if (held === 0) return worker;
      if (held <= REFILL_AT && (best === undefined || held < best.jobs.length)) best = worker;
    }
    if (this.workers.length < this.deps.maxWorkers) {
      const worker = this.deps.spawn();
      this.workers.push(worker);
      return worker;
    }
    return best;
  }

  private send(worker: PoolWorker, jobs: readonly PoolJob[]): void {
    const wasIdle = worker.jobs.length === 0;
    try {
      worker.send(jobs);
    } catch {
      // One of them cannot be cloned: send each alone, and fail only that one.
      for (const job of jobs) {
        try {
          worker.send([job]);
        } catch (cause) {
          this.deps.unsendable(job, new HearthError("EXECUTOR_NOT_CLONEABLE", `The arguments of executor job ${job.task.name} cannot be sent to a Worker`, { cause }));
        }
      }
    }
    if (worker.jobs.length === 0) worker.idle();
    else if (wasIdle) this.deps.started(worker.jobs[0]!);
  }
}
