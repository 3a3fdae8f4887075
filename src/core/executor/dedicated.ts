/** A Worker of its own for one long-lived blocking loop (a serial reader in poll()), outside the pool. */
import { CancelledError, HearthError, isCancelledError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { within } from "../wait.ts";
import { reviveError, type SerializedError, serializeError } from "./errors.ts";
import { CALL, CALL_RESULT, type CallMessage, type DedicatedInit, ERROR, FATAL, OK, STOP, TASK_MESSAGE } from "./protocol.ts";
import type { DedicatedTask } from "./registered-task.ts";
import { endWorker, executorScript, type WorkerScript } from "./spawn.ts";

export interface DedicatedWorkerOptions {
  /** Names it in logs and in what shutdown abandons; default: the task's name. */
  name?: string;
  /** Milliseconds `stop()` waits for the loop to return before terminating its Worker (default 5000; shutdown may allow less). */
  stopGraceMs?: number;
  /** Receives what the loop sends with `context.post`, on the loop thread, in order. */
  onMessage?: (message: unknown) => void;
  /**
   * Called on the loop thread when a stop is requested, after the stop flag is set: how to wake a loop
   * blocked in a system call that neither the flag nor the signal reaches (write its wake pipe).
   */
  onStop?: () => void;
}

/** Where a dedicated Worker's loop is: running, asked to stop, or ended (by itself, by failing, or stopped). */
export type DedicatedState = "running" | "stopping" | "done" | "failed" | "stopped";

/** How long a terminated Worker gets to go before it is taken to be stuck in a system call. */
const TERMINATE_WAIT_MS = 200;

/**
 * One dedicated Worker, tracked by the executor. Its loop is asked to stop through its context (a signal
 * for an async loop, a shared flag for a synchronous one) and terminated if it does not within the grace
 * time; a Worker blocked in a system call cannot be terminated, so it is then left behind, unref'd,
 * and named, rather than holding the process.
 */
export class DedicatedWorker<Result = unknown> {
  readonly name: string;
  /** The loop's result; rejects if it throws, its Worker dies, or it has to be terminated. */
  readonly done: Promise<Result>;
  /** Resolves once the Worker is gone (or given up on), whatever the outcome. */
  readonly ended: Promise<void>;
  state: DedicatedState = "running";

  private readonly deps: DedicatedDeps<Result>;
  private readonly stopGraceMs: number;
  private readonly stopFlag = new Int32Array(new SharedArrayBuffer(4));
  private readonly outcome = Promise.withResolvers<Result>();
  private readonly gone = Promise.withResolvers<void>();
  private worker: Worker | undefined;
  private fatal: SerializedError | undefined;
  private stopping: Promise<boolean> | undefined;

  constructor(deps: DedicatedDeps<Result>) {
    this.deps = deps;
    this.name = deps.options.name ?? deps.task.name;
    this.stopGraceMs = deps.options.stopGraceMs ?? 5000;
    this.done = this.outcome.promise;
    this.done.catch(() => {}); // failures are logged here; awaiting `done` is optional
    this.ended = this.gone.promise;
  }

  /** Spawns the Worker and hands it the task. A second call does nothing: one loop, one Worker. */
  start(): void {
    if (this.worker !== undefined) return;
    const worker = new Worker(this.deps.script);
    this.worker = worker;
    worker.onmessage = (event: MessageEvent) => this.onMessage(event.data as [number, unknown]);
    worker.addEventListener("close", (event: Event) => this.onClose((event as CloseEvent).code));
    const { task, args, closing } = this.deps;
    const init: DedicatedInit = { kind: "dedicated", name: this.name, moduleUrl: task.moduleUrl, task: task.name, args, closing, stop: this.stopFlag.buffer as SharedArrayBuffer };
    worker.postMessage(init);
  }

  /**
   * Asks the loop to stop and waits up to `graceMs` for it to return; then terminates its Worker.
   * Resolves true when the loop ended by itself. Safe to call twice.
   */
  stop(graceMs = this.stopGraceMs): Promise<boolean> {
    this.stopping ??= this.runStop(Math.min(graceMs, this.stopGraceMs));
    return this.stopping;
  }

  private async runStop(graceMs: number): Promise<boolean> {
    if (this.state !== "running") return true;
    this.state = "stopping";
    Atomics.store(this.stopFlag, 0, 1);
    this.worker?.postMessage([STOP]);
    try {
      this.deps.options.onStop?.();
    } catch (err) {
      this.deps.log.error({ err, worker: this.name }, `The stop hook of dedicated Worker ${this.name} failed`);
    }
    if (await within(this.ended, graceMs)) return true;
    this.settle(false, new CancelledError(`Dedicated Worker ${this.name} did not stop within ${graceMs} ms and was terminated`));
    if (this.worker) endWorker(this.worker);
    if (await within(this.ended, TERMINATE_WAIT_MS)) {
      this.deps.log.warn({ worker: this.name }, `Dedicated Worker ${this.name} did not stop within ${graceMs} ms; terminated it`);
    } else {
      this.deps.log.warn({ worker: this.name }, `Dedicated Worker ${this.name} did not stop within ${graceMs} ms and is stuck in a system call; left it behind`);
      this.gone.resolve();
    }
    return false;
  }

  private onMessage(message: [number, unknown]): void {
    const kind = message[0];
    if (kind === TASK_MESSAGE) this.deps.options.onMessage?.(message[1]);
    else if (kind === CALL) this.deps.onCall(this.worker!, message as unknown as CallMessage);
    else if (kind === FATAL) this.fatal = message[1] as SerializedError;
    else if (kind === OK || kind === ERROR) {
      if (kind === OK) this.settle(true, message[1] as Result);
      else this.settle(false, reviveError(message[1] as SerializedError));
      if (this.worker) endWorker(this.worker); // its loop is over; nothing else runs there
    }
  }

  private onClose(code: number): void {
    if (this.state === "running" || this.state === "stopping") {
      const fatal = this.fatal === undefined ? undefined : reviveError(this.fatal);
      const how = fatal === undefined ? `exited with code ${code}` : `died of an uncaught ${fatal.name}: ${fatal.message}`;
      this.settle(false, new HearthError("EXECUTOR_WORKER_DIED", `Dedicated Worker ${this.name} ${how}`, fatal === undefined ? undefined : { cause: fatal }));
    }
    this.gone.resolve();
  }

  private settle(ok: true, value: Result): void;
  private settle(ok: false, err: Error): void;
  private settle(ok: boolean, value: unknown): void {
    if (this.state !== "running" && this.state !== "stopping") return;
    const asked = this.state === "stopping";
    if (ok) {
      this.state = asked ? "stopped" : "done";
      this.outcome.resolve(value as Result);
      return;
    }
    this.state = asked ? "stopped" : "failed";
    // A loop that ends with the cancellation it was asked for has stopped, not failed.
    if (!(asked && isCancelledError(value))) this.deps.log.error({ err: value, worker: this.name }, `Dedicated Worker ${this.name} failed`);
    this.outcome.reject(value);
  }
}

interface DedicatedDeps<Result> {
  /** What its Worker starts on (the executor's entry). */
  script: WorkerScript;
  task: DedicatedTask<unknown[], Result>;
  args: unknown[];
  options: DedicatedWorkerOptions;
  /** The executor's closing flag: thread-safe calls are refused once it is set. */
  closing: SharedArrayBuffer;
  log: Logger;
  onCall: (worker: Worker, message: CallMessage) => void;
}

/**
 * Starts a dedicated Worker outside any hub's executor, for a facility that lives as long as the process
 * rather than one hub (the serial reader Workers, which ports opened without a hub use too). Its owner
 * stops it; thread-safe calls from it are refused, since no hub is there to run them.
 */
export function startDedicatedWorker<Args extends unknown[], Result>(
  task: DedicatedTask<Args, Result>,
  args: Args,
  options: DedicatedWorkerOptions & { log: Logger; script?: WorkerScript },
): DedicatedWorker<Result> {
  const { log, script, ...rest } = options;
  const worker = new DedicatedWorker<Result>({
    script: executorScript(script),
    task: task as unknown as DedicatedTask<unknown[], Result>,
    args,
    options: rest,
    closing: new SharedArrayBuffer(4),
    log,
    onCall: (to, [, callId, , name]) => {
      const err = new HearthError("INVALID_ARGUMENT", `Thread-safe call ${name} from dedicated Worker ${worker.name}: it was started without a hub`);
      to.postMessage([CALL_RESULT, callId, ERROR, serializeError(err)]);
    },
  });
  worker.start();
  return worker;
}
