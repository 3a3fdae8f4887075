/**
 * Executor tasks: blocking functions registered under a module URL and a name, so that a Worker can
 * import the module and find the function (a Worker cannot receive a closure). This module must stay
 * free of side effects and of imports that need the loop thread: Workers import it.
 */
import { isEmbeddedUrl } from "../compiled.ts";
import { HearthError } from "../errors.ts";
import type { ExecutorErrorCode } from "./errors.ts";

const EXECUTOR_TASK: unique symbol = Symbol.for("hearth.executorTask");
const DEDICATED_TASK: unique symbol = Symbol.for("hearth.dedicatedTask");

/** A blocking function that runs on an executor Worker, typed by the function's own signature. */
export interface ExecutorTask<Args extends unknown[] = unknown[], Result = unknown> {
  readonly [EXECUTOR_TASK]: true;
  /** `import.meta.url` of the module that registered it; Workers import this. */
  readonly moduleUrl: string;
  /** Unique within its module. */
  readonly name: string;
  /** The function itself; only ever called on a Worker by the executor. */
  readonly fn: (...args: Args) => Result | Promise<Result>;
}

/** What a dedicated Worker's loop is handed: how to learn that the hub wants it to stop. */
export interface DedicatedContext {
  /** The name the loop side gave the Worker. */
  readonly name: string;
  /** Fires when a stop is requested; seen only while the loop awaits (its Worker's event loop must turn). */
  readonly signal: AbortSignal;
  /** True once a stop is requested; read from shared memory, so a synchronous loop can poll it between blocking calls. */
  readonly stopRequested: boolean;
  /**
   * Sends `message` (structured-cloned; SharedArrayBuffers are shared) to the owner's `onMessage` on the
   * loop thread, without waiting. Unlike a thread-safe call it names no function and is still delivered
   * while the hub shuts down: it is the loop's own channel to its owner (a reader telling of new bytes).
   */
  post(message: unknown): void;
}

/** A long-lived blocking loop (a serial reader in poll()) that runs on a Worker of its own, never on a pool slot. */
export interface DedicatedTask<Args extends unknown[] = unknown[], Result = unknown> {
  readonly [DEDICATED_TASK]: true;
  readonly moduleUrl: string;
  readonly name: string;
  readonly fn: (context: DedicatedContext, ...args: Args) => Result | Promise<Result>;
}

type AnyTask = ExecutorTask<never[], unknown> | DedicatedTask<never[], unknown>;

// Per-thread registry: filled as modules that declare tasks are imported (on the loop thread and in each Worker).
const registry = new Map<string, AnyTask>();

/**
 * The registry key of a task. Inside a compiled binary every module of one bundle shares its entry's
 * URL, and the loop's bundle and a Worker's differ, so there a task is known by its name alone (names
 * must then be unique across hearth: register() refuses a second one).
 */
export function taskKey(moduleUrl: string, name: string): string {
  return isEmbeddedUrl(moduleUrl) ? `compiled#${name}` : `${moduleUrl}#${name}`;
}

/**
 * Imports the module that declares a task, in a thread that has not loaded it yet. Inside a compiled
 * binary there is nothing to import (the URL is the binary's own entry, which would run again): the
 * Worker's entry must already have imported it (src/executor-worker.ts).
 */
export async function importTaskModule(moduleUrl: string): Promise<void> {
  if (isEmbeddedUrl(moduleUrl)) return;
  await import(moduleUrl);
}

function register(kind: string, moduleUrl: string, name: string, fn: unknown, task: AnyTask): void {
  if (typeof fn !== "function") throw new TypeError(`${kind} ${name}: expected a function`);
  const key = taskKey(moduleUrl, name);
  const existing = registry.get(key);
  if (existing && existing.fn !== fn) {
    const where = isEmbeddedUrl(moduleUrl) ? "this compiled binary (task names must be unique)" : moduleUrl;
    throw new HearthError<ExecutorErrorCode>("EXECUTOR_REGISTERED_TWICE", `${kind} ${name} is registered twice in ${where}`);
  }
  registry.set(key, task);
}

/** Registers a blocking function for the executor: `export const readProbe = executorTask(import.meta.url, "readProbe", (path: string) => ...)`. */
export function executorTask<Args extends unknown[], Result>(moduleUrl: string, name: string, fn: (...args: Args) => Result | Promise<Result>): ExecutorTask<Args, Result> {
  const task: ExecutorTask<Args, Result> = Object.freeze({ [EXECUTOR_TASK]: true as const, moduleUrl, name, fn });
  register("executorTask", moduleUrl, name, fn, task as unknown as AnyTask);
  return task;
}

/** Registers a long-lived loop for a dedicated Worker: `export const readLoop = dedicatedTask(import.meta.url, "readLoop", (ctx, path: string) => ...)`. */
export function dedicatedTask<Args extends unknown[], Result>(
  moduleUrl: string,
  name: string,
  fn: (context: DedicatedContext, ...args: Args) => Result | Promise<Result>,
): DedicatedTask<Args, Result> {
  const task: DedicatedTask<Args, Result> = Object.freeze({ [DEDICATED_TASK]: true as const, moduleUrl, name, fn });
  register("dedicatedTask", moduleUrl, name, fn, task as unknown as AnyTask);
  return task;
}

/** Whether a value is a registered executor task. */
export function isExecutorTask(value: unknown): value is ExecutorTask<unknown[], unknown> {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[EXECUTOR_TASK] === true;
}

/** Whether a value is a registered dedicated-Worker task. */
export function isDedicatedTask(value: unknown): value is DedicatedTask<unknown[], unknown> {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[DEDICATED_TASK] === true;
}

/** Finds a task registered in this thread by the module that declared it. */
export function lookupExecutorTask(moduleUrl: string, name: string): ExecutorTask<unknown[], unknown> | undefined {
  const task = registry.get(taskKey(moduleUrl, name));
  return isExecutorTask(task) ? task : undefined;
}

/** Finds a dedicated-Worker task registered in this thread by the module that declared it. */
export function lookupDedicatedTask(moduleUrl: string, name: string): DedicatedTask<unknown[], unknown> | undefined {
  const task = registry.get(taskKey(moduleUrl, name));
  return isDedicatedTask(task) ? task : undefined;
}
