/**
 * The executor of a hub: the Worker pool for blocking jobs, the dedicated Workers of long-lived loops,
 * and the loop's side of thread-safe calls, stopped together in shutdown's "close" stage.
 */
import { HearthError } from "../errors.ts";
import type { HistogramSnapshot } from "../histogram.ts";
import type { ExecutorJobOptions, Hub, HubExecutor } from "../hub.ts";
import type { Logger } from "../logger.ts";
import { DedicatedWorker, type DedicatedWorkerOptions } from "./dedicated.ts";
import { ThreadsafeHost } from "./loop-calls.ts";
import { type PoolStats, WorkerPool } from "./pool.ts";
import type { CallMessage } from "./protocol.ts";
import { type DedicatedTask, type ExecutorTask, isDedicatedTask } from "./registered-task.ts";
import { executorScript, type WorkerScript } from "./spawn.ts";

/** What the hub makes its executor with. */
export interface ExecutorOptions {
  hub: Hub;
  log?: Logger;
  /** Workers in the pool; default: one fewer than the cores, at least one. */
  workers?: number;
  /**
   * What its Workers start on: the composition root's entry, which imports every module that declares a
   * task (src/worker-entries.ts); default, from source only: core's own Worker loop.
   */
  script?: WorkerScript;
}

/** Figures for bridge/info. */
export interface ExecutorStats extends PoolStats {
  /** Dedicated Workers whose loop is running. */
  dedicated: number;
}

/** What the hub makes on first use of `hub.executor` (HA's executor, plus Workers of their own for loops that never return). */
export class Executor implements HubExecutor {
  readonly pool: WorkerPool;
  private readonly log: Logger;
  private readonly script: WorkerScript;
  private readonly closing = new Int32Array(new SharedArrayBuffer(4));
  private readonly host: ThreadsafeHost;
  private readonly dedicated = new Set<DedicatedWorker<unknown>>();
  private readonly onCall = (worker: Worker, message: CallMessage) => this.host.handle(worker, message);
  private accepting = true;
  private shuttingDown: Promise<string[]> | undefined;

  constructor(options: ExecutorOptions) {
    this.log = options.log ?? options.hub.log.child({ component: "executor" });
    this.script = executorScript(options.script);
    this.host = new ThreadsafeHost({ hub: options.hub, isClosing: () => !this.accepting });
    this.pool = new WorkerPool({ log: this.log, script: this.script, workers: options.workers, closing: this.closing.buffer as SharedArrayBuffer, onCall: this.onCall });
  }

  /** Queues `task(...args)` on the pool; a promise of its result. */
  submit<Args extends unknown[], Result>(task: ExecutorTask<Args, Result>, args: Args, options?: ExecutorJobOptions): Promise<Result> {
    return this.pool.submit(task, args, options);
  }

  /**
   * Starts `task` on a Worker of its own, outside the pool, for a loop that blocks for good (a serial
   * reader). Stopped at shutdown: asked first (its context's signal and stop flag), terminated after
   * its grace time.
   */
  startDedicated<Args extends unknown[], Result>(task: DedicatedTask<Args, Result>, args: Args, options: DedicatedWorkerOptions = {}): DedicatedWorker<Result> {
    if (!this.accepting) throw new HearthError("SHUTTING_DOWN", `Dedicated Worker ${options.name ?? task.name} refused: the executor is shutting down`);
    if (!isDedicatedTask(task)) throw new HearthError("INVALID_ARGUMENT", "startDedicated needs a task registered with dedicatedTask()");
    const worker = new DedicatedWorker<Result>({
      script: this.script,
      task: task as unknown as DedicatedTask<unknown[], Result>,
      args,
      options,
      closing: this.closing.buffer as SharedArrayBuffer,
      log: this.log,
      onCall: this.onCall,
    });
    const tracked = worker as DedicatedWorker<unknown>;
    this.dedicated.add(tracked);
    worker.ended.then(() => this.dedicated.delete(tracked));
    worker.start();
    return worker;
  }

  /** Stops accepting jobs, dedicated Workers and thread-safe calls (the first stage of shutdown). */
  close(): void {
    this.accepting = false;
    Atomics.store(this.closing, 0, 1);
    this.pool.close();
  }

  /**
   * Stops dedicated Workers, rejects queued jobs, lets running ones finish within `ms`, and terminates
   * every Worker. Resolves with what it abandoned. Safe to call twice.
   */
  shutdown(ms: number): Promise<string[]> {
    this.shuttingDown ??= this.runShutdown(ms);
    return this.shuttingDown;
  }

  latencyHistogram(): HistogramSnapshot {
    return this.pool.latencyHistogram();
  }

  stats(): ExecutorStats {
    let dedicated = 0;
    for (const d of this.dedicated) if (d.state === "running" || d.state === "stopping") dedicated++;
    return { ...this.pool.stats(), dedicated };
  }

  private async runShutdown(ms: number): Promise<string[]> {
    this.close();
    const stopping = [...this.dedicated].map((d) => d.stop(ms).then((clean) => (clean ? undefined : `dedicated Worker ${d.name}`)));
    const [jobs, loops] = await Promise.all([this.pool.shutdown(ms), Promise.all(stopping)]);
    const abandoned = [...jobs, ...loops.filter((name) => name !== undefined)];
    if (abandoned.length > 0) this.log.warn({ abandoned }, `Executor shut down, abandoning ${abandoned.join(", ")}`);
    return abandoned;
  }
}
