import { HearthError } from "./errors.ts";

/** One outcome of a gather with `returnExceptions`: the value, or the error it threw. */
export type Gathered<T> = T | Error;

/**
 * Runs the thunks with at most `limit` in flight at once, and resolves with their results in order
 * (HA's gather_with_limited_concurrency). Thunks, not promises: a promise has already started.
 * Without `returnExceptions`, the first error rejects and no further thunk is started; with it, each
 * error takes its place in the results.
 */
export function gatherWithLimitedConcurrency<T>(limit: number, tasks: ReadonlyArray<() => T | PromiseLike<T>>, options: { returnExceptions: true; signal?: AbortSignal }): Promise<Gathered<T>[]>;
export function gatherWithLimitedConcurrency<T>(limit: number, tasks: ReadonlyArray<() => T | PromiseLike<T>>, options?: { returnExceptions?: false; signal?: AbortSignal }): Promise<T[]>;
export function gatherWithLimitedConcurrency<T>(
  limit: number,
  tasks: ReadonlyArray<() => T | PromiseLike<T>>,
  options: { returnExceptions?: boolean; signal?: AbortSignal } = {},
): Promise<Gathered<T>[]> {
  if (!Number.isInteger(limit) || limit < 1) {
    return Promise.reject(new HearthError("INVALID_ARGUMENT", `Concurrency limit must be a positive integer, got ${limit}`));
  }
  const results = new Array<Gathered<T>>(tasks.length);
  if (tasks.length === 0) return Promise.resolve(results);
  return new Promise((resolve, reject) => {
    let next = 0;
    let finished = 0;
    let failed = false;
    const startNext = (): void => {
      if (failed) return;
      if (options.signal?.aborted) {
        failed = true;
        reject(options.signal.reason);
        return;
      }
      const index = next++;
      const thunk = tasks[index]!;
      let pending: PromiseLike<T>;
      try {
        pending = Promise.resolve(thunk());
      } catch (err) {
        pending = Promise.reject(err);
      }
      pending.then(
        (value) => settle(index, value),
        (err) => {
          if (!options.returnExceptions) {
            failed = true;
            reject(err);
            return;
          }
          settle(index, err instanceof Error ? err : new HearthError("NON_ERROR_THROWN", String(err), { cause: err }));
        },
      );
    };
    const settle = (index: number, value: Gathered<T>): void => {
      if (failed) return;
      results[index] = value;
      finished++;
      if (finished === tasks.length) resolve(results);
      else if (next < tasks.length) startNext();
    };
    for (let i = 0; i < Math.min(limit, tasks.length); i++) startNext();
  });
}
