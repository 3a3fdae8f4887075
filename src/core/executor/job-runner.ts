/**
 * A pool Worker's side of its jobs: runs them one at a time in the order they came, skips those the
 * loop withdrew, finds each task by the module that declared it, and reports outcomes in order. Runs in
 * Workers only; nothing here touches the loop's state.
 */
import { isEmbeddedUrl } from "../compiled.ts";
import { HearthError } from "../errors.ts";
import { serializeError } from "./errors.ts";
import type { OutcomeBatch } from "./outcome-batch.ts";
import { ERROR, headerArgc, headerSlot, headerTaskId, headerWatched, OK, QUEUED, RUNNING, SKIPPED } from "./protocol.ts";
import { importTaskModule, lookupExecutorTask } from "./registered-task.ts";

type TaskFn = (...args: unknown[]) => unknown;

/**
 * A task is fast once its score reaches FAST_SCORE: a run here in less than FAST_MS adds one, a slower
 * one (the first, cold runs often are) takes it below zero and SLOW_PENALTY further, and a task that
 * returned a promise is never fast. Only while a fast task runs may outcomes be held.
 */
const FAST_MS = 0.05;
const FAST_SCORE = 16;
const SLOW_PENALTY = 64;

/** Runs the jobs the loop sends to one pool Worker. */
export class JobRunner {
  /** Functions by the loop's task id, the module and name each id stands for, and each one's score (see FAST_SCORE). */
  private readonly fns: Array<TaskFn | undefined> = [];
  private readonly names: Array<[moduleUrl: string, name: string] | undefined> = [];
  private readonly scores: number[] = [];
  /** Job batches not yet run, oldest first; `cursor` is where the next job of the first one starts. */
  private readonly batches: unknown[][] = [];
  private cursor = 0;
  /** An async job (or a task's module being imported) is under way: the next job waits for it. */
  private busy = false;
  private readonly resume = () => this.run();

  constructor(
    private readonly slots: Int32Array,
    private readonly outcomes: OutcomeBatch,
  ) {}

  /** Learns which module and name a task id stands for. */
  define(taskId: number, moduleUrl: string, name: string): void {
    this.names[taskId] = [moduleUrl, name];
  }

  /** Takes a batch of jobs (flat: header, args…, see jobHeader) and runs it unless a job is under way. */
  enqueue(batch: unknown[]): void {
    this.batches.push(batch);
    if (!this.busy) this.run();
  }

  /** Runs jobs in order until none is left or one has to be waited for. */
  run(): void {
    this.busy = false;
    const { batches, outcomes } = this;
    while (batches.length > 0) {
      const batch = batches[0]!;
      while (this.cursor < batch.length) {
        const header = batch[this.cursor] as number;
        const taskId = headerTaskId(header);
        const argc = headerArgc(header);
        const at = this.cursor + 1;
        this.cursor = at + argc;
        if (Atomics.compareExchange(this.slots, headerSlot(header), QUEUED, RUNNING) !== QUEUED) {
          outcomes.add(SKIPPED, undefined, ""); // withdrawn by the loop before it started
          continue;
        }
        const name = this.names[taskId]![1];
        // Held outcomes must not wait behind a job that may be slow, nor behind one the loop is timing.
        const watched = headerWatched(header);
        if (watched || !((this.scores[taskId] ?? 0) >= FAST_SCORE) || outcomes.overdue()) outcomes.flush();
        const fn = this.fns[taskId] ?? this.find(taskId);
        const args = argc === 0 ? EMPTY : argc === 1 ? [batch[at]] : batch.slice(at, at + argc);
        if (fn === undefined) {
          this.busy = true; // its module is not loaded in this Worker yet
          this.load(taskId).then(
            (found) => this.runAsync(found, args, name),
            (err) => this.finishAsync(ERROR, serializeError(err), name),
          );
          return;
        }
        const start = performance.now();
        let result: unknown;
        try {
          result = fn.apply(undefined, args);
        } catch (err) {
          this.took(taskId, start);
          outcomes.add(ERROR, serializeError(err), name);
          if (watched) outcomes.flush();
          continue;
        }
        if (isThenable(result)) {
          this.busy = true;
          this.scores[taskId] = Number.NEGATIVE_INFINITY; // async: never fast
          result.then(
            (value) => this.finishAsync(OK, value, name),
            (err) => this.finishAsync(ERROR, serializeError(err), name),
          );
          return;
        }
        this.took(taskId, start);
        outcomes.add(OK, result, name);
        if (watched) outcomes.flush();
      }
      batches.shift();
      this.cursor = 0;
    }
    outcomes.flush();
  }

  private runAsync(fn: TaskFn, args: unknown[], name: string): void {
    let result: unknown;
    try {
      result = fn.apply(undefined, args);
    } catch (err) {
      this.finishAsync(ERROR, serializeError(err), name);
      return;
    }
    if (isThenable(result)) {
      result.then(
        (value) => this.finishAsync(OK, value, name),
        (err) => this.finishAsync(ERROR, serializeError(err), name),
      );
    } else this.finishAsync(OK, result, name);
  }

  private finishAsync(status: number, value: unknown, name: string): void {
    this.outcomes.add(status, value, name);
    this.outcomes.flush();
    this.resume();
  }

  private took(taskId: number, start: number): void {
    const score = this.scores[taskId] ?? 0;
    this.scores[taskId] = performance.now() - start < FAST_MS ? score + 1 : Math.min(score, 0) - SLOW_PENALTY;
  }

  /** The task behind an id if its module is already loaded here. */
  private find(taskId: number): TaskFn | undefined {
    const [moduleUrl, name] = this.names[taskId]!;
    const fn = lookupExecutorTask(moduleUrl, name)?.fn as TaskFn | undefined;
    this.fns[taskId] = fn;
    return fn;
  }

  /** Imports a task's module into this Worker and finds the task there. */
  private async load(taskId: number): Promise<TaskFn> {
    const [moduleUrl, name] = this.names[taskId]!;
    await importTaskModule(moduleUrl);
    const fn = this.find(taskId);
    if (fn === undefined) throw taskNotFound("executorTask", name, moduleUrl);
    return fn;
  }
}

const EMPTY: unknown[] = [];

/** The error for a task a Worker cannot find where the loop said it was declared. */
export function taskNotFound(kind: string, name: string, moduleUrl: string): HearthError {
  if (isEmbeddedUrl(moduleUrl)) {
    return new HearthError("EXECUTOR_TASK_NOT_FOUND", `No ${kind} "${name}" is bundled into the executor Worker of this binary; import its module in src/executor-worker.ts`);
  }
  return new HearthError("EXECUTOR_TASK_NOT_FOUND", `No ${kind} "${name}" is registered in ${moduleUrl} as a Worker imports it; declare it at the top level of that module`);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}
