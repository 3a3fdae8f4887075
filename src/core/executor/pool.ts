/** The pool of Bun Workers that runs executor jobs (HA's executor thread pool). */
import { availableParallelism } from "node:os";
import { CancelledError, HearthError, TimeoutError } from "../errors.ts";
import { Histogram, type HistogramSnapshot, LATENCY_BUCKETS_S } from "../histogram.ts";
import type { ExecutorJobOptions } from "../hub.ts";
import type { Logger } from "../logger.ts";
import { settleWithin } from "../shutdown.ts";
import { abortReason } from "../task.ts";
import { Dispatcher } from "./dispatch.ts";
import { reviveError, type SerializedError } from "./errors.ts";
import { type LatencyPercentiles, LatencyWindow } from "./latency.ts";
import { PoolJob } from "./pool-job.ts";
import { PoolWorker } from "./pool-worker.ts";
import { CALL, type CallMessage, ERROR, FATAL, MAX_ARGS, OK, RUNNING } from "./protocol.ts";
import { type ExecutorTask, isExecutorTask } from "./registered-task.ts";
import type { WorkerScript } from "./spawn.ts";

/** What a pool is made with (by its Executor). */
export interface WorkerPoolOptions {
  log: Logger;
  /** What each Worker starts on (the executor's entry). */
  script: WorkerScript;
  /** Workers in the pool; default: one fewer than the cores, at least one. */
  workers?: number;
  /** Int32[0] = 1 once the executor closed, shared with every Worker. */
  closing: SharedArrayBuffer;
  /** Answers a Worker's runCallbackThreadsafe. */
  onCall: (worker: Worker, message: CallMessage) => void;
}

/** The pool's figures. */
export interface PoolStats {
  /** Workers started now, and the most there may be. */
  workers: number;
  maxWorkers: number;
  /** Jobs waiting for a Worker (in the queue, or sent to a Worker that has not started them). */
  queued: number;
  running: number;
  completed: number;
  failed: number;
  timedOut: number;
  aborted: number;
  /** Submit to settle, over the last 1024 jobs that completed or failed. */
  latencyMs: LatencyPercentiles;
}

/** A Worker that dies this many times in a row before running anything cannot start: queued jobs fail instead of looping. */
const MAX_START_FAILURES = 3;

/** The default pool size: one fewer than the cores, so the loop keeps one, and at least one. */
export function defaultWorkerCount(): number {
  return Math.max(1, availableParallelism() - 1);
}

/**
 * N Workers, started as jobs need them, fed from one FIFO queue. Jobs submitted in one turn of the loop
 * go out together, and each Worker holds up to WINDOW of them, so the next is already there when one
 * ends: a job costs about one postMessage each way. A job a Worker has not started can still be
 * withdrawn (aborted, or taken over by a Worker gone idle), so the queue stays fair. A job that runs past
 * its timeout, is aborted while running, or kills its Worker costs that Worker: it is terminated and the
 * jobs it had not started go back to the front of the queue.
 */
export class WorkerPool {
  readonly maxWorkers: number;
  private readonly log: Logger;
  private readonly script: WorkerScript;
  private readonly closing: SharedArrayBuffer;
  private readonly onCall: (worker: Worker, message: CallMessage) => void;
  private readonly dispatch: Dispatcher;
  private readonly taskIds = new Map<ExecutorTask<unknown[], unknown>, number>();
  private readonly latency = new LatencyWindow(1024);
  /** Every settled job's submit-to-settle time in seconds, for /metrics (the window above feeds bridge/info). */
  private readonly latencyBuckets = new Histogram(LATENCY_BUCKETS_S);
  private readonly counts = { completed: 0, failed: 0, timedOut: 0, aborted: 0 };
  private readonly events = {
    message: (worker: PoolWorker, data: unknown) => this.onMessage(worker, data),
    close: (worker: PoolWorker, code: number) => this.onWorkerGone(worker, code),
  };
  private readonly flush = () => {
    this.flushing = false;
    this.dispatch.pump();
  };
  private flushing = false;
  private accepting = true;
  private startFailures = 0;
  private drained: (() => void) | undefined;
  private shuttingDown: Promise<string[]> | undefined;

  constructor(options: WorkerPoolOptions) {
    this.log = options.log;
    this.script = options.script;
    this.closing = options.closing;
    this.onCall = options.onCall;
    this.maxWorkers = options.workers ?? defaultWorkerCount();
    if (!Number.isInteger(this.maxWorkers) || this.maxWorkers < 1) {
      throw new HearthError("INVALID_ARGUMENT", `An executor needs a whole number of Workers, at least 1; got ${this.maxWorkers}`);
    }
    this.dispatch = new Dispatcher({
      maxWorkers: this.maxWorkers,
      spawn: () => {
        const worker = new PoolWorker(new Worker(this.script), this.closing, this.events);
        worker.start();
        return worker;
      },
      started: (job) => this.started(job),
      unsendable: (job, err) => this.fail(job, err),
    });
  }

  /** Queues `task(...args)` for a Worker; a promise of its result. */
  submit<Args extends unknown[], Result>(task: ExecutorTask<Args, Result>, args: Args, options?: ExecutorJobOptions): Promise<Result> {
    if (!this.accepting) return Promise.reject(new HearthError("SHUTTING_DOWN", `Executor job ${task.name} refused: the executor is shutting down`));
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const timeout = options?.timeout;
    if (timeout !== undefined && !(timeout > 0)) {
      return Promise.reject(new HearthError("INVALID_ARGUMENT", `Executor job ${task.name}: timeout must be above 0 seconds, got ${timeout}`));
    }
    if (args.length > MAX_ARGS) return Promise.reject(new HearthError("INVALID_ARGUMENT", `Executor job ${task.name}: at most ${MAX_ARGS} arguments`));
    const t = task as ExecutorTask<unknown[], unknown>;
    const taskId = this.taskIdOf(t);
    if (taskId < 0) return Promise.reject(new HearthError("INVALID_ARGUMENT", "The executor runs tasks registered with executorTask() only"));
    const job = new PoolJob(t, taskId, args, timeout === undefined ? 0 : timeout * 1000, signal, performance.now());
    const promise = new Promise<Result>((resolve, reject) => {
      job.resolve = resolve as (value: unknown) => void;
      job.reject = reject;
    });
    if (signal !== undefined) {
      job.onAbort = () => this.abort(job);
      signal.addEventListener("abort", job.onAbort, { once: true });
    }
    this.dispatch.push(job);
    if (!this.flushing) {
      this.flushing = true;
      queueMicrotask(this.flush);
    }
    return promise;
  }

  /** Refuses new jobs; those already submitted still run. */
  close(): void {
    this.accepting = false;
  }

  /**
   * Rejects the jobs not yet started, lets running ones finish within `ms`, then terminates every
   * Worker. Resolves with the names of the jobs it abandoned. Safe to call twice.
   */
  shutdown(ms: number): Promise<string[]> {
    this.shuttingDown ??= this.runShutdown(ms);
    return this.shuttingDown;
  }

  stats(): PoolStats {
    let running = 0;
    let held = 0;
    const { workers, waiting } = this.dispatch;
    for (const w of workers) {
      if (w.jobs[0] !== undefined) running++;
      for (const job of w.jobs) if (job !== undefined) held++;
    }
    return { workers: workers.length, maxWorkers: this.maxWorkers, queued: waiting + held - running, running, ...this.counts, latencyMs: this.latency.percentiles() };
  }

  private async runShutdown(ms: number): Promise<string[]> {
    this.close();
    this.dispatch.stopped = true;
    for (const job of this.dispatch.drain()) job.settle(false, stillQueued(job));
    for (const worker of this.dispatch.workers) {
      for (const job of worker.jobs.slice()) if (job !== undefined && worker.withdraw(job)) job.settle(false, stillQueued(job));
    }
    if (this.runningCount() > 0) {
      const drained = new Promise<void>((resolve) => (this.drained = resolve));
      await settleWithin([drained], ms);
      this.drained = undefined;
    }
    const abandoned: string[] = [];
    for (const worker of [...this.dispatch.workers]) {
      for (const job of worker.jobs) {
        if (job === undefined || job.done) continue;
        abandoned.push(job.task.name);
        job.settle(false, new HearthError("EXECUTOR_ABANDONED", `Executor job ${job.task.name} was still running ${ms} ms into shutdown; its Worker was terminated`));
      }
      this.dispatch.remove(worker);
    }
    return abandoned;
  }

  /** A small number per task, so a Worker is told a task's module and name only once; -1 for anything else. */
  private taskIdOf(task: ExecutorTask<unknown[], unknown>): number {
    let id = this.taskIds.get(task);
    if (id === undefined) {
      if (!isExecutorTask(task)) return -1;
      id = this.taskIds.size;
      this.taskIds.set(task, id);
    }
    return id;
  }

  /** A job became the oldest its Worker holds: it runs now, and its timeout starts. */
  private started(job: PoolJob): void {
    if (job.timeoutMs > 0) job.timer = setTimeout(onTimeout, job.timeoutMs, this, job);
  }

  private onMessage(worker: PoolWorker, data: unknown): void {
    const message = data as unknown[];
    const status = message[0];
    if (status === CALL) {
      this.onCall(worker.worker, data as CallMessage);
      return;
    }
    if (status === FATAL) {
      worker.fatal = message[1] as SerializedError;
      return;
    }
    worker.answered = true;
    this.startFailures = 0;
    // Outcomes come in pairs, in the order the jobs were sent.
    for (let i = 0; i < message.length; i += 2) {
      const job = worker.jobs.shift();
      if (job === undefined || job.done) continue; // withdrawn (skipped), or given up on
      const outcome = message[i];
      if (outcome === OK) {
        this.counts.completed++;
        this.recordLatency(job);
        job.settle(true, message[i + 1]);
      } else if (outcome === ERROR) this.fail(job, reviveError(message[i + 1] as SerializedError));
      else {
        // Only a withdrawn job is skipped, and withdrawing takes it off this list: the two sides disagree.
        this.log.error({ job: job.task.name }, `Executor Worker skipped job ${job.task.name} it was not told to; queueing it again`);
        this.dispatch.pushFront(job);
      }
    }
    const next = worker.jobs[0];
    if (next !== undefined) this.started(next);
    this.dispatch.pump();
    if (worker.jobs.length === 0) {
      this.dispatch.takeOver(worker);
      if (worker.jobs.length === 0) worker.idle();
    }
    this.checkDrained();
  }

  private abort(job: PoolJob): void {
    if (job.done) return;
    this.counts.aborted++;
    const worker = job.worker;
    const reason = abortReason(job.signal!);
    if (worker === undefined) this.dispatch.forget();
    const started = worker !== undefined && !worker.withdraw(job);
    job.settle(false, reason);
    if (started) this.replace(worker, `job ${job.task.name} was aborted while running`);
  }

  /** A job's timer ran out. */
  timedOut(job: PoolJob): void {
    if (job.done || job.worker === undefined) return;
    const worker = job.worker;
    this.counts.timedOut++;
    job.settle(false, new TimeoutError(`Executor job ${job.task.name} timed out after ${job.timeoutMs / 1000} s; its Worker was terminated`));
    this.replace(worker, `job ${job.task.name} timed out`);
  }

  /** Terminates a Worker whose job is being given up on; the jobs it had not started go back to the front of the queue. */
  private replace(worker: PoolWorker, why: string): void {
    this.log.warn({ why }, `Terminating an executor Worker: ${why}`);
    this.dispatch.remove(worker);
    this.requeue(worker, (job) => new HearthError("EXECUTOR_ABANDONED", `Executor job ${job.task.name} was lost when its Worker was terminated (${why})`));
  }

  /** A Worker ended by itself: an uncaught error or process.exit inside it. */
  private onWorkerGone(worker: PoolWorker, code: number): void {
    this.dispatch.remove(worker);
    const fatal = worker.fatal === undefined ? undefined : reviveError(worker.fatal);
    const how = fatal === undefined ? `exited with code ${code}` : `died of an uncaught ${fatal.name}: ${fatal.message}`;
    const cause = fatal === undefined ? undefined : { cause: fatal };
    // The thread is gone, so the slots are final: the job it had claimed is the one it died running.
    const running = worker.jobs.find((job) => job !== undefined && Atomics.load(worker.slots, job.slot) === RUNNING);
    if (running !== undefined) this.log.warn({ err: fatal, code, job: running.task.name }, `An executor Worker ${how} while running ${running.task.name}`);
    else this.log.warn({ err: fatal, code }, `An executor Worker ${how} while idle`);
    if (running === undefined && !worker.answered && worker.jobs.some((job) => job !== undefined) && ++this.startFailures >= MAX_START_FAILURES) {
      const err = new HearthError("EXECUTOR_WORKER_DIED", `Executor Workers keep dying before running anything (${how})`, cause);
      for (const job of [...worker.jobs, ...this.dispatch.drain()]) if (job !== undefined && !job.done) this.fail(job, err);
      return;
    }
    this.requeue(worker, (job) => new HearthError("EXECUTOR_WORKER_DIED", `Executor job ${job.task.name} failed: its Worker ${how}`, cause));
  }

  /** Puts back what a lost Worker had not started (or cancels it, once shut down); fails what it had. */
  private requeue(worker: PoolWorker, lost: (job: PoolJob) => Error): void {
    const jobs = worker.jobs;
    for (let i = jobs.length - 1; i >= 0; i--) {
      const job = jobs[i];
      if (job === undefined || job.done) continue;
      if (!worker.withdraw(job)) this.fail(job, lost(job));
      else if (this.dispatch.stopped) job.settle(false, stillQueued(job));
      else this.dispatch.pushFront(job);
    }
    this.dispatch.pump();
    this.checkDrained();
  }

  private runningCount(): number {
    let n = 0;
    for (const worker of this.dispatch.workers) for (const job of worker.jobs) if (job !== undefined && !job.done) n++;
    return n;
  }

  private recordLatency(job: PoolJob): void {
    const ms = performance.now() - job.submitted;
    this.latency.add(ms);
    this.latencyBuckets.observe(ms / 1000);
  }

  /** Submit to settle of every job that completed or failed, in seconds. */
  latencyHistogram(): HistogramSnapshot {
    return this.latencyBuckets.snapshot();
  }

  private checkDrained(): void {
    if (this.drained !== undefined && this.runningCount() === 0) this.drained();
  }

  /** Fails a job for a fault of its own (its error, its Worker's death), as opposed to its caller giving up on it. */
  private fail(job: PoolJob, err: Error): void {
    this.counts.failed++;
    this.recordLatency(job);
    job.settle(false, err);
  }
}

function onTimeout(pool: WorkerPool, job: PoolJob): void {
  pool.timedOut(job);
}

function stillQueued(job: PoolJob): CancelledError {
  return new CancelledError(`Executor job ${job.task.name} was still queued when the executor shut down`);
}
