/**
 * Thread-safe calls from a Worker back into the loop (HA's run_callback_threadsafe). A closure cannot
 * cross threads, so the callback is registered by name in a module both threads import, and runs on
 * the loop with the hub as its first argument:
 *
 *   export const deliverLine = threadsafeCallback(import.meta.url, "deliverLine", (hub, port: string, line: string) => ...);
 *   // in a Worker:
 *   await runCallbackThreadsafe(deliverLine, "/dev/ttyUSB0", line);
 *
 * This module must stay free of side effects: Workers import it.
 */
import { HearthError } from "../errors.ts";
import type { Hub } from "../hub.ts";
import { type ExecutorErrorCode, reviveError, type SerializedError } from "./errors.ts";
import { CALL, type CallMessage, OK } from "./protocol.ts";
import { taskKey } from "./registered-task.ts";

const THREADSAFE_CALLBACK: unique symbol = Symbol.for("hearth.threadsafeCallback");

/** A function of the loop that Workers may call by name, typed by its own signature (less the hub). */
export interface ThreadsafeCallback<Args extends unknown[] = unknown[], Result = unknown> {
  readonly [THREADSAFE_CALLBACK]: true;
  readonly moduleUrl: string;
  readonly name: string;
  /** Runs on the loop thread only. */
  readonly fn: (hub: Hub, ...args: Args) => Result | PromiseLike<Result>;
}

// Per-thread, like the executor task registry.
const registry = new Map<string, ThreadsafeCallback<never[], unknown>>();

/** Registers a loop function Workers may call: `export const onLine = threadsafeCallback(import.meta.url, "onLine", (hub, line: string) => ...)`. */
export function threadsafeCallback<Args extends unknown[], Result>(moduleUrl: string, name: string, fn: (hub: Hub, ...args: Args) => Result | PromiseLike<Result>): ThreadsafeCallback<Args, Result> {
  if (typeof fn !== "function") throw new TypeError(`threadsafeCallback ${name}: expected a function`);
  const cb: ThreadsafeCallback<Args, Result> = Object.freeze({ [THREADSAFE_CALLBACK]: true as const, moduleUrl, name, fn });
  const key = taskKey(moduleUrl, name);
  const existing = registry.get(key);
  if (existing && existing.fn !== (fn as unknown)) {
    throw new HearthError<ExecutorErrorCode>("EXECUTOR_REGISTERED_TWICE", `threadsafeCallback ${name} is registered twice in ${moduleUrl}`);
  }
  registry.set(key, cb as unknown as ThreadsafeCallback<never[], unknown>);
  return cb;
}

/** Finds a callback registered in this thread by the module that declared it. */
export function lookupThreadsafeCallback(moduleUrl: string, name: string): ThreadsafeCallback<unknown[], unknown> | undefined {
  return registry.get(taskKey(moduleUrl, name)) as ThreadsafeCallback<unknown[], unknown> | undefined;
}

/** Whether a value is a registered thread-safe callback. */
export function isThreadsafeCallback(value: unknown): value is ThreadsafeCallback<unknown[], unknown> {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[THREADSAFE_CALLBACK] === true;
}

// The Worker's side of the channel, set by worker.ts when an executor starts this Worker.
let post: ((message: CallMessage) => void) | undefined;
let closing: Int32Array | undefined;
let nextCallId = 1;
const pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: unknown) => void }>();

/** Connects this Worker's calls to the loop (worker.ts, once, at start). */
export function attachThreadsafeChannel(send: (message: CallMessage) => void, closingFlag: Int32Array): void {
  post = send;
  closing = closingFlag;
}

/** Settles a call with the loop's answer (worker.ts, on a call-result message). */
export function settleThreadsafeCall(callId: number, status: number, value: unknown): void {
  const call = pending.get(callId);
  if (call === undefined) return;
  pending.delete(callId);
  if (status === OK) call.resolve(value);
  else call.reject(reviveError(value as SerializedError));
}

/**
 * From inside an executor Worker (pool or dedicated): runs `cb` on the loop thread and resolves with
 * its result (errors come back with their stack). Rejects with SHUTTING_DOWN once the hub's shutdown
 * has begun, as Home Assistant refuses them then to prevent deadlocks.
 */
export function runCallbackThreadsafe<Args extends unknown[], Result>(cb: ThreadsafeCallback<Args, Result>, ...args: Args): Promise<Awaited<Result>> {
  if (post === undefined || closing === undefined) {
    return Promise.reject(
      Bun.isMainThread
        ? new HearthError("WRONG_THREAD", `runCallbackThreadsafe(${cb.name}) is for code in a Worker; on the loop thread call ${cb.name} directly`)
        : new HearthError("EXECUTOR_NOT_IN_WORKER", `runCallbackThreadsafe(${cb.name}) only works in a Worker started by hearth's executor`),
    );
  }
  if (Atomics.load(closing, 0) === 1) return Promise.reject(shuttingDown(cb.name));
  const callId = nextCallId++;
  const { promise, resolve, reject } = Promise.withResolvers<Awaited<Result>>();
  try {
    post([CALL, callId, cb.moduleUrl, cb.name, args]);
  } catch (cause) {
    return Promise.reject(new HearthError("EXECUTOR_NOT_CLONEABLE", `runCallbackThreadsafe(${cb.name}): its arguments cannot be sent to the loop`, { cause }));
  }
  pending.set(callId, { resolve: resolve as (value: unknown) => void, reject });
  return promise;
}

/** The refusal of a thread-safe call once shutdown has begun. */
export function shuttingDown(name: string): HearthError<"SHUTTING_DOWN"> {
  return new HearthError("SHUTTING_DOWN", `runCallbackThreadsafe(${name}) refused: hearth is shutting down`);
}
