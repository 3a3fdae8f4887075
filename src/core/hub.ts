import { type Clock, systemClock } from "./clock.ts";
import { HearthError, isCancelledError } from "./errors.ts";
import type { Event } from "./event.ts";
import { EventBus } from "./event-bus.ts";
import type { DedicatedWorker, DedicatedWorkerOptions } from "./executor/dedicated.ts";
import { Executor, type ExecutorStats } from "./executor/executor.ts";
import type { DedicatedTask, ExecutorTask } from "./executor/registered-task.ts";
import type { WorkerScript } from "./executor/spawn.ts";
import type { HistogramSnapshot } from "./histogram.ts";
import type { HubEvents } from "./hub-events.ts";
import { Job, type JobTarget, JobType } from "./job.ts";
import { jobSlot } from "./job-slot.ts";
import { type Logger, silentLogger } from "./logger.ts";
import { DEFAULT_STAGE_TIMEOUTS, type StageTimeouts, type StopResult, settleWithin } from "./shutdown.ts";
import { StateMachine } from "./state-machine.ts";
import { Task, type TaskTarget } from "./task.ts";
import { TimeoutManager } from "./timeout.ts";
import { abortable } from "./wait.ts";

/** Lifecycle of a hub (HA's CoreState). */
export type HubState = "not_running" | "starting" | "running" | "stopping" | "final_write" | "stopped";

/** Options of one executor job. */
export interface ExecutorJobOptions {
  /** Seconds the job may run before it is abandoned with TimeoutError (its Worker replaced); time queued behind other jobs does not count. */
  timeout?: number;
  /** Aborting drops a queued job, or abandons a running one as for a timeout. */
  signal?: AbortSignal;
}

/** What the hub needs of an executor (the Worker pool of src/core/executor). */
export interface HubExecutor {
  submit<Args extends unknown[], Result>(task: ExecutorTask<Args, Result>, args: Args, options?: ExecutorJobOptions): Promise<Result>;
  /** Stop accepting jobs (the first stage of shutdown). */
  close(): void;
  /** Let running jobs finish within `ms`, reject queued ones, terminate Workers; resolves with what it abandoned. */
  shutdown(ms: number): Promise<string[]>;
  /** Runs a long-lived blocking loop on a Worker of its own, stopped at shutdown (the pool has this; stand-ins may not). */
  startDedicated?<Args extends unknown[], Result>(task: DedicatedTask<Args, Result>, args: Args, options?: DedicatedWorkerOptions): DedicatedWorker<Result>;
  /** Queue, counts and latency, for bridge/info. */
  stats?(): ExecutorStats;
  /** Every settled pool job's latency in seconds, for /metrics. */
  latencyHistogram?(): HistogramSnapshot;
}

export interface HubOptions {
  log?: Logger;
  clock?: Clock;
  /** Seconds `start()` waits for the tasks of set-up before going on without them. */
  startTimeout?: number;
  stageTimeouts?: Partial<StageTimeouts>;
  /** Makes the executor on first use; default: an Executor whose pool has `executorWorkers` Workers. */
  executor?: (hub: Hub) => HubExecutor;
  /** Workers in the default executor's pool (config `executor.workers`); default: cores − 1, at least 1. */
  executorWorkers?: number;
  /** What the default executor's Workers start on (the composition root's entry); default, from source only: core's own Worker loop. */
  executorScript?: WorkerScript;
}

export interface CreateTaskOptions {
  name?: string;
  /** Run at once, up to the first await (default); false waits a turn. */
  eagerStart?: boolean;
  /** Cancel at shutdown instead of waiting for it. */
  cancelOnShutdown?: boolean;
}

/**
 * The centre of hearth (HA's HomeAssistant object): the loop's lifecycle, its event bus, state machine,
 * timeouts, the tasks it tracks and the executor. Everything here is touched from the loop thread only.
 */
export class Hub {
  state: HubState = "not_running";
  readonly log: Logger;
  readonly clock: Clock;
  readonly bus: EventBus<HubEvents>;
  readonly states: StateMachine;
  readonly timeout: TimeoutManager;
  /** Shared data of components, keyed by domain (HA's hass.data). */
  readonly data = new Map<string, unknown>();
  /** Tasks that start-up, `blockTillDone` and shutdown wait for. */
  readonly tasks = new Set<Task<unknown>>();
  /** Tasks nobody waits for, cancelled at shutdown. */
  readonly backgroundTasks = new Set<Task<unknown>>();
  /** Seconds `start()` waits for set-up tasks. */
  readonly startTimeout: number;
  readonly stageTimeouts: StageTimeouts;

  private readonly shutdownJobs = new Set<Job>();
  private readonly executorFactory: (hub: Hub) => HubExecutor;
  private executorInstance: HubExecutor | undefined;
  private stopping: Promise<StopResult> | undefined;

  constructor(options: HubOptions = {}) {
    this.log = options.log ?? silentLogger();
    this.clock = options.clock ?? systemClock;
    this.startTimeout = options.startTimeout ?? 300;
    this.stageTimeouts = { ...DEFAULT_STAGE_TIMEOUTS, ...options.stageTimeouts };
    const { executorWorkers: workers, executorScript: script } = options;
    this.executorFactory = options.executor ?? ((hub) => new Executor({ hub, workers, script }));
    this.bus = new EventBus<HubEvents>({
      log: this.log.child({ component: "bus" }),
      runJob: (job, event) => this.runJob(job, event),
    });
    this.states = new StateMachine({ bus: this.bus });
    this.timeout = new TimeoutManager({ clock: this.clock });
  }

  /** Whether the hub is running or on its way there. */
  get isRunning(): boolean {
    return this.state === "starting" || this.state === "running";
  }

  /** Whether shutdown has begun. */
  get isStopping(): boolean {
    return this.state === "stopping" || this.state === "final_write" || this.state === "stopped";
  }

  /** Throws when called off the loop thread (from a Worker), where the hub's state must never be touched. */
  verifyEventLoopThread(what: string): void {
    if (!Bun.isMainThread) {
      throw new HearthError(
        "WRONG_THREAD",
        `Detected code that calls ${what} from a Worker instead of the event loop thread; this would corrupt hearth's state. Use runCallbackThreadsafe() to call back into the loop.`,
      );
    }
  }

  /**
   * Starts a tracked task. Eager by default: a coroutine that never awaits has finished when this
   * returns. Start-up, `blockTillDone` and shutdown wait for tracked tasks.
   */
  createTask<T>(target: TaskTarget<T>, options: CreateTaskOptions = {}): Task<T> {
    return this.spawn(target, options.name, false, options.cancelOnShutdown ?? false, options.eagerStart ?? true);
  }

  /**
   * Starts a task nobody waits for (a monitor, a reader loop): not awaited by start-up or
   * `blockTillDone`, and cancelled (its signal fires) at shutdown.
   */
  createBackgroundTask<T>(target: TaskTarget<T>, options: { name?: string; eagerStart?: boolean } = {}): Task<T> {
    return this.spawn(target, options.name, true, true, options.eagerStart ?? true);
  }

  /**
   * Runs a job the cheapest way its type allows: a callback at once (its return value comes back), a
   * coroutine as a tracked task, an executor task on the pool (a promise of its result).
   */
  runJob(job: Job, ...args: unknown[]): unknown {
    switch (job.type) {
      case JobType.Callback: {
        const outer = jobSlot[0]!;
        jobSlot[0] = job.slotId;
        try {
          return (job.target as (...a: unknown[]) => unknown)(...args);
        } finally {
          jobSlot[0] = outer;
        }
      }
      case JobType.Coroutinefunction: {
        const run = () => (job.target as (...a: unknown[]) => PromiseLike<unknown>)(...args);
        // A job's function is not handed the task's signal, so it could never see a cancellation; as an
        // asyncio task is interrupted at its await, the task ends when cancelled (its work is left to finish).
        return this.spawn(job.cancelOnShutdown ? (signal: AbortSignal) => abortable(run(), signal) : run, job.name, false, job.cancelOnShutdown, true);
      }
      case JobType.Executor:
        return this.addExecutorJob(job.target as ExecutorTask<unknown[], unknown>, ...args);
    }
  }

  /** Runs a registered blocking function on the executor; a promise of its result. */
  addExecutorJob<Args extends unknown[], Result>(task: ExecutorTask<Args, Result>, ...args: Args): Promise<Result> {
    return this.executor.submit(task, args);
  }

  /** Like addExecutorJob, with a timeout or an AbortSignal. */
  addExecutorJobWith<Args extends unknown[], Result>(task: ExecutorTask<Args, Result>, args: Args, options: ExecutorJobOptions): Promise<Result> {
    return this.executor.submit(task, args, options);
  }

  /**
   * Runs a long-lived blocking loop (a serial reader blocked in poll()) on a Worker of its own, never on
   * a pool slot; tracked, and stopped in shutdown's "close" stage: asked through its context, then
   * terminated after `stopGraceMs`.
   */
  startDedicatedWorker<Args extends unknown[], Result>(task: DedicatedTask<Args, Result>, args: Args, options?: DedicatedWorkerOptions): DedicatedWorker<Result> {
    const executor = this.executor;
    if (executor.startDedicated === undefined) throw new HearthError("INVALID_ARGUMENT", "This hub's executor cannot start dedicated Workers");
    return executor.startDedicated(task, args, options);
  }

  /** The executor, made on first use. */
  get executor(): HubExecutor {
    if (this.executorInstance === undefined) {
      if (this.isStopping) throw new HearthError("SHUTTING_DOWN", "The executor is not accepting jobs: shutdown has begun");
      this.executorInstance = this.executorFactory(this);
    }
    return this.executorInstance;
  }

  /** The executor if one was made (for stats), without making one. */
  get executorIfStarted(): HubExecutor | undefined {
    return this.executorInstance;
  }

  /** Registers a job to run in the first stage of shutdown; returns the function that unregisters it. */
  addShutdownJob(target: JobTarget | Job): () => void {
    const job = target instanceof Job ? target : new Job(target);
    this.shutdownJobs.add(job);
    return () => this.shutdownJobs.delete(job);
  }

  /** Waits until no tracked task is left, including tasks those tasks create. Background tasks are not waited for. */
  async blockTillDone(): Promise<void> {
    for (;;) {
      while (this.tasks.size > 0) {
        await Promise.allSettled([...this.tasks].map((t) => t.settled()));
      }
      // Let timers and I/O callbacks due now run; they may create more tasks.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.tasks.size === 0) return;
    }
  }

  /** Starts the hub: fires hub_start, waits for set-up tasks (up to `startTimeout`), then runs. */
  async start(): Promise<void> {
    this.verifyEventLoopThread("hub.start");
    if (this.state !== "not_running") throw new HearthError("ALREADY_STARTED", `Cannot start a hub that is ${this.state}`);
    this.state = "starting";
    this.log.info("Starting");
    this.bus.fire("hub_start", {});
    const pending = await this.waitForTracked(this.startTimeout * 1000);
    if (pending.length > 0) {
      this.log.warn({ tasks: pending.map((t) => t.name) }, `Start-up went on after ${this.startTimeout} s without waiting for: ${pending.map((t) => t.name).join(", ")}`);
    }
    if (this.state !== "starting") return; // stopped while starting
    this.state = "running";
    this.bus.fire("hub_started", {});
    this.log.info("Running");
  }

  /**
   * Staged shutdown: stop taking work → shutdown jobs → cancel background and cancelOnShutdown tasks →
   * wait for tracked tasks → final writes → close (Workers terminated) → stopped. Each stage has a
   * timeout; whatever it leaves behind is named in the log. Safe to call more than once.
   */
  stop(): Promise<StopResult> {
    this.stopping ??= this.runStop();
    return this.stopping;
  }

  private async runStop(): Promise<StopResult> {
    const abandoned: string[] = [];
    const t = this.stageTimeouts;
    const stage = async (name: string, seconds: number, items: StageItem[]) => {
      const left = await settleWithin(
        items.map((i) => i.promise),
        seconds * 1000,
      );
      for (const i of left) {
        const item = items[i]!;
        if (item.task) this.abandon(item.task, name);
        abandoned.push(`${name}: ${item.name}`);
        this.log.warn({ stage: name, task: item.name }, `Shutdown stage "${name}" timed out after ${seconds} s; abandoned ${item.name}`);
      }
    };

    // 1. Stop taking work.
    this.state = "stopping";
    this.log.info("Stopping");
    this.executorInstance?.close();
    this.fireSafely("hub_stop");

    // 2. Shutdown jobs.
    const jobs: StageItem[] = [];
    for (const job of this.shutdownJobs) {
      try {
        const result = this.runJob(job);
        if (result instanceof Task) result.observed = true;
        if (isPromiseLike(result)) {
          jobs.push({ name: job.name, promise: logFailure(result, this.log, job.name), task: result instanceof Task ? result : undefined });
        }
      } catch (err) {
        this.log.error({ err, job: job.name }, `Shutdown job ${job.name} failed`);
      }
    }
    await stage("shutdown jobs", t.shutdownJobs, jobs);

    // 3. Cancel background tasks and cancelOnShutdown tasks.
    const cancelled = [...this.backgroundTasks, ...[...this.tasks].filter((task) => task.cancelOnShutdown)];
    for (const task of cancelled) task.cancel("hub is shutting down");
    await stage("cancel", t.cancel, cancelled.map(asStageItem));

    // 4. Tracked tasks.
    await this.trackedStage("tracked tasks", t.tracked, abandoned);

    // 5. Final writes.
    this.state = "final_write";
    this.fireSafely("hub_final_write");
    await this.trackedStage("final write", t.finalWrite, abandoned);

    // 6. Close links and Workers.
    this.fireSafely("hub_close");
    const closing = this.trackedStage("close", t.close, abandoned);
    if (this.executorInstance) {
      const left = await this.executorInstance.shutdown(t.close * 1000);
      for (const name of left) abandoned.push(`executor: ${name}`);
    }
    await closing;

    this.state = "stopped";
    const clean = abandoned.length === 0;
    if (clean) this.log.info("Stopped");
    else this.log.warn({ abandoned }, `Stopped, abandoning ${abandoned.length}: ${abandoned.join("; ")}`);
    return { clean, abandoned };
  }

  private async trackedStage(name: string, seconds: number, abandoned: string[]): Promise<void> {
    const left = await this.waitForTracked(seconds * 1000);
    for (const task of left) {
      this.abandon(task, name);
      abandoned.push(`${name}: ${task.name}`);
      this.log.warn({ stage: name, task: task.name }, `Shutdown stage "${name}" timed out after ${seconds} s; abandoned ${task.name}`);
    }
  }

  /** Gives up on a task at shutdown: its signal fires, and no later stage waits for it (or names it) again. */
  private abandon(task: Task<unknown>, stage: string): void {
    task.cancel(`abandoned at shutdown stage "${stage}"`);
    this.tasks.delete(task);
  }

  /** Waits for tracked tasks (including ones they create) up to `ms`; returns those still running then. */
  private async waitForTracked(ms: number): Promise<Task<unknown>[]> {
    const deadline = this.clock.now() + ms;
    for (;;) {
      const pending = [...this.tasks];
      if (pending.length === 0) return [];
      const remaining = deadline - this.clock.now();
      if (remaining <= 0) return pending;
      const left = await settleWithin(
        pending.map((p) => p.settled()),
        remaining,
      );
      if (left.length > 0) return left.map((i) => pending[i]!);
    }
  }

  private fireSafely(type: "hub_stop" | "hub_final_write" | "hub_close"): void {
    try {
      this.bus.fire(type, {});
    } catch (err) {
      this.log.error({ err }, `Error firing ${type}`);
    }
  }

  private spawn<T>(target: TaskTarget<T>, name: string | undefined, background: boolean, cancelOnShutdown: boolean, eager: boolean): Task<T> {
    if (this.state === "stopped") {
      throw new HearthError("HUB_NOT_ACCEPTING", `Cannot start task ${name ?? taskName(target)}: the hub has stopped`);
    }
    const task = new Task<T>({
      name: name ?? taskName(target),
      background,
      cancelOnShutdown,
      onSettle: (t) => this.onTaskSettled(t),
    });
    (background ? this.backgroundTasks : this.tasks).add(task as Task<unknown>);
    if (background && this.isStopping) task.cancel("hub is shutting down"); // born during shutdown: told to stop at once
    if (eager) task.start(target);
    else queueMicrotask(() => task.start(target));
    return task;
  }

  private onTaskSettled(task: Task<unknown>): void {
    (task.background ? this.backgroundTasks : this.tasks).delete(task);
    if (task.status !== "failed") return;
    // Give whoever holds the task a turn to await it: an awaited failure is theirs to handle.
    setImmediate(() => {
      if (!task.observed) this.log.error({ err: task.error, task: task.name }, `Error doing job: task ${task.name} failed`);
    });
  }
}

function taskName(target: unknown): string {
  return typeof target === "function" && target.name ? target.name : "task";
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}

/** What one shutdown stage waits for. */
interface StageItem {
  name: string;
  promise: PromiseLike<unknown>;
  task?: Task<unknown> | undefined;
}

function asStageItem(task: Task<unknown>): StageItem {
  return { name: task.name, promise: task.settled().catch(() => {}), task };
}

function logFailure(promise: PromiseLike<unknown>, log: Logger, name: string): Promise<unknown> {
  return Promise.resolve(promise).catch((err) => {
    if (!isCancelledError(err)) log.error({ err, job: name }, `Shutdown job ${name} failed`);
  });
}

export type { Event };
