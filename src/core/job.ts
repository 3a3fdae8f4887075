import { HearthError } from "./errors.ts";
import { type ExecutorTask, isExecutorTask } from "./executor/registered-task.ts";
import { jobIdFor } from "./job-slot.ts";

/** How a job runs: at once in the loop, as a task, or on the executor. */
export enum JobType {
  Callback = "callback",
  Coroutinefunction = "coroutinefunction",
  Executor = "executor",
}

const CALLBACK: unique symbol = Symbol.for("hearth.callback");
const COROUTINE: unique symbol = Symbol.for("hearth.coroutine");

const AsyncFunction = (async () => {}).constructor;

// `any` in these signatures: a marker must accept every function shape and return it unchanged.
// biome-ignore lint/suspicious/noExplicitAny: see above
type AnyFunction = (...args: any[]) => any;

/** Marks a synchronous function as safe to run in the loop: no blocking I/O, no long computation. */
export function callback<F extends AnyFunction>(fn: F): F {
  (fn as unknown as Record<symbol, boolean>)[CALLBACK] = true;
  return fn;
}

/** Marks a function that returns a promise without being declared `async` (a wrapper, a bound method). */
export function coroutine<F extends (...args: never[]) => PromiseLike<unknown>>(fn: F): F {
  (fn as unknown as Record<symbol, boolean>)[COROUTINE] = true;
  return fn;
}

/** Whether a function was marked with `callback()`. */
export function isCallback(fn: unknown): boolean {
  return typeof fn === "function" && (fn as unknown as Record<symbol, boolean>)[CALLBACK] === true;
}

/** Whether a function is async (declared so, or marked with `coroutine()`). */
export function isCoroutineFunction(fn: unknown): boolean {
  return typeof fn === "function" && (fn instanceof AsyncFunction || (fn as unknown as Record<symbol, boolean>)[COROUTINE] === true);
}

/** What a Job can wrap. */
export type JobTarget = AnyFunction | ExecutorTask<never[], unknown>;

/** Detects how a target runs; a plain synchronous function is refused, since it cannot be sent to a Worker. */
export function detectJobType(target: unknown): JobType {
  if (isExecutorTask(target)) return JobType.Executor;
  if (isCallback(target)) return JobType.Callback;
  if (isCoroutineFunction(target)) return JobType.Coroutinefunction;
  const name = typeof target === "function" ? target.name || "anonymous function" : typeof target;
  throw new HearthError("INVALID_ARGUMENT", `Cannot tell how to run ${name}: mark it callback() if it is safe in the loop, make it async, or register it with executorTask() if it blocks`);
}

export interface JobOptions {
  name?: string;
  /** Cancel the tasks this job starts when the hub shuts down, instead of waiting for them. */
  cancelOnShutdown?: boolean;
}

/** A unit of work whose kind is known up front, so the hub runs it the cheapest way (HA's HassJob). */
export class Job<Target extends JobTarget = JobTarget> {
  readonly target: Target;
  readonly type: JobType;
  readonly name: string;
  readonly cancelOnShutdown: boolean;
  /** The name's id in the loop monitor's job slot. */
  readonly slotId: number;

  constructor(target: Target, options: JobOptions = {}) {
    this.target = target;
    this.type = detectJobType(target);
    this.name = options.name ?? jobName(target);
    this.cancelOnShutdown = options.cancelOnShutdown ?? false;
    this.slotId = jobIdFor(this.name);
  }

  toString(): string {
    return `<Job ${this.name} ${this.type}>`;
  }
}

function jobName(target: JobTarget): string {
  if (isExecutorTask(target)) return target.name;
  return (target as AnyFunction).name || "anonymous";
}
