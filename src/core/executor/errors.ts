/**
 * Errors of the executor, and how an error crosses between a Worker and the loop: serialised with its
 * class name, message, stack, code and primitive fields, and rebuilt on the other side so that
 * `name`, `message` and `stack` (with the frames of the thread that threw) match. Workers import this.
 */
import { CancelledError, HearthError, TimeoutError } from "../errors.ts";

/** Codes of the executor's own errors. */
export type ExecutorErrorCode =
  /** The Worker running the job died: an uncaught error or `process.exit` inside it. */
  | "EXECUTOR_WORKER_DIED"
  /** The job was still running when shutdown's time ran out; its Worker was terminated. */
  | "EXECUTOR_ABANDONED"
  /** The task is not registered in its module as a Worker sees it. */
  | "EXECUTOR_TASK_NOT_FOUND"
  /** The result (or a thread-safe call's arguments) could not be structured-cloned. */
  | "EXECUTOR_NOT_CLONEABLE"
  /** `runCallbackThreadsafe` was called where it cannot run (the loop thread, a Worker the executor did not start). */
  | "EXECUTOR_NOT_IN_WORKER"
  /** Two different functions were registered under one module and name (an executor task, a dedicated task, a thread-safe callback). */
  | "EXECUTOR_REGISTERED_TWICE";

/** An error as it travels in a message. */
export interface SerializedError {
  name: string;
  /** The constructor's name (`ProbeError`), which may differ from `name` ("Error"). */
  className: string;
  message: string;
  stack: string | undefined;
  code?: string | number;
  /** Whether it was a HearthError (of any subclass): rebuilt as one, so `isHearthError(err, code)` still narrows it. */
  hearth?: boolean;
  /** Own primitive fields (errno, syscall, path of a system error). */
  fields?: Record<string, string | number | boolean>;
  cause?: SerializedError;
}

/** An error rebuilt from another thread: the class there is known by name only. */
export interface RemoteError extends Error {
  /** The class of the error where it was thrown (`ProbeError`, whose `name` may still be "Error"). */
  className: string;
  code?: string | number;
}

const BUILTIN: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

const SKIP_FIELDS = new Set(["name", "message", "stack", "code", "cause"]);

/** Turns anything thrown into a SerializedError (a non-Error value becomes an Error describing it). */
export function serializeError(err: unknown, depth = 0): SerializedError {
  if (!(err instanceof Error)) {
    return { name: "Error", className: "Error", message: `Non-Error thrown: ${describe(err)}`, stack: undefined };
  }
  const out: SerializedError = {
    name: String(err.name),
    className: err.constructor?.name ?? "Error",
    message: String(err.message),
    stack: typeof err.stack === "string" ? err.stack : undefined,
  };
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" || typeof code === "number") out.code = code;
  if (err instanceof HearthError) out.hearth = true;
  let fields: Record<string, string | number | boolean> | undefined;
  for (const key of Object.keys(err)) {
    const value = (err as unknown as Record<string, unknown>)[key];
    if (SKIP_FIELDS.has(key)) continue;
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") (fields ??= {})[key] = value;
  }
  if (fields) out.fields = fields;
  if (err.cause !== undefined && depth < 3) out.cause = serializeError(err.cause, depth + 1);
  return out;
}

/** Rebuilds an error on this side: a built-in class or hearth's own where the name says so, else an Error named as the original. */
export function reviveError(data: SerializedError): RemoteError {
  const options = data.cause === undefined ? undefined : { cause: reviveError(data.cause) };
  let base: Error;
  if (data.className === "TimeoutError" && data.code === "TIMEOUT") base = new TimeoutError(data.message, options);
  else if (data.className === "CancelledError" && data.code === "TASK_CANCELLED") base = new CancelledError(data.message, options);
  else if (data.hearth === true && typeof data.code === "string") base = new HearthError(data.code, data.message, options);
  else base = new (BUILTIN[data.className] ?? Error)(data.message, options);
  const err = base as RemoteError;
  if (err.name !== data.name) Object.defineProperty(err, "name", { value: data.name, writable: true, configurable: true });
  err.className = data.className;
  if (data.code !== undefined && err.code === undefined) err.code = data.code;
  if (data.fields) Object.assign(err, data.fields);
  // The stack of the thread that threw: its frames are where the bug is.
  if (data.stack !== undefined) err.stack = data.stack;
  return err;
}

function describe(value: unknown): string {
  try {
    return typeof value === "string" ? JSON.stringify(value) : String(value);
  } catch {
    return typeof value;
  }
}
