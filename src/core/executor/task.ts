/**
 * Executor tasks: blocking functions registered under a module URL and a name, so that a Worker can
 * import the module and find the function (a Worker cannot receive a closure). This module must stay
 * free of side effects and of imports that need the loop thread: Workers import it.
 */

const EXECUTOR_TASK: unique symbol = Symbol.for("hearth.executorTask");

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

// Per-thread registry: filled as modules that declare tasks are imported (on the loop thread and in each Worker).
const registry = new Map<string, ExecutorTask<never[], unknown>>();

function keyOf(moduleUrl: string, name: string): string {
  return `${moduleUrl}#${name}`;
}

/** Registers a blocking function for the executor: `export const readProbe = executorTask(import.meta.url, "readProbe", (path: string) => ...)`. */
export function executorTask<Args extends unknown[], Result>(
  moduleUrl: string,
  name: string,
  fn: (...args: Args) => Result | Promise<Result>,
): ExecutorTask<Args, Result> {
  if (typeof fn !== "function") throw new TypeError(`executorTask ${name}: expected a function`);
  const task: ExecutorTask<Args, Result> = Object.freeze({ [EXECUTOR_TASK]: true as const, moduleUrl, name, fn });
  const key = keyOf(moduleUrl, name);
  const existing = registry.get(key);
  if (existing && existing.fn !== (fn as unknown)) {
    throw new Error(`executorTask ${name} is registered twice in ${moduleUrl}`);
  }
  registry.set(key, task as unknown as ExecutorTask<never[], unknown>);
  return task;
}

/** Whether a value is a registered executor task. */
export function isExecutorTask(value: unknown): value is ExecutorTask<unknown[], unknown> {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[EXECUTOR_TASK] === true;
}

/** Finds a task registered in this thread by the module that declared it. */
export function lookupExecutorTask(moduleUrl: string, name: string): ExecutorTask<unknown[], unknown> | undefined {
  return registry.get(keyOf(moduleUrl, name)) as ExecutorTask<unknown[], unknown> | undefined;
}
