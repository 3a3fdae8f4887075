/** Codes of the errors the core raises; each subsystem adds its own to HearthError. */
export type CoreErrorCode =
  | "WRONG_THREAD"
  | "HUB_NOT_ACCEPTING"
  | "INVALID_ENTITY_ID"
  | "INVALID_STATE"
  | "TASK_CANCELLED"
  | "SHUTTING_DOWN"
  | "SEMAPHORE_RELEASED_TOO_OFTEN"
  | "LOCK_NOT_HELD"
  | "INVALID_ARGUMENT"
  | "BLOCKING_CALL"
  | "WORKER_SCRIPT_MISSING"
  /** start() on a component that has started already (and does not take a second start as the first). */
  | "ALREADY_STARTED"
  /** Something other than an Error was thrown (a string, a number); the value is the cause. */
  | "NON_ERROR_THROWN";

/** The one error class of hearth: a `code` to branch on, a `cause` to log. */
export class HearthError<Code extends string = string> extends Error {
  override readonly name: string = "HearthError";
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Narrows an unknown thrown value to a HearthError, optionally of one code. */
export function isHearthError<Code extends string>(err: unknown, code?: Code): err is HearthError<Code> {
  return err instanceof HearthError && (code === undefined || err.code === code);
}

/** Raised when a bounded wait runs out of time (the name matches DOMException's, so `err.name === "TimeoutError"` works for both). */
export class TimeoutError extends HearthError<"TIMEOUT"> {
  override readonly name = "TimeoutError";

  constructor(message = "Timed out", options?: { cause?: unknown }) {
    super("TIMEOUT", message, options);
  }
}

/** Whether a thrown value is a timeout, ours or the platform's (AbortSignal.timeout). */
export function isTimeoutError(err: unknown): boolean {
  return err instanceof TimeoutError || (err instanceof Error && err.name === "TimeoutError");
}

/** Raised into work that was cancelled: its AbortSignal fired before it finished. */
export class CancelledError extends HearthError<"TASK_CANCELLED"> {
  override readonly name = "CancelledError";

  constructor(message = "Cancelled", options?: { cause?: unknown }) {
    super("TASK_CANCELLED", message, options);
  }
}

/** Whether a thrown value means "cancelled": ours, or an AbortError from the platform. */
export function isCancelledError(err: unknown): boolean {
  return err instanceof CancelledError || (err instanceof Error && err.name === "AbortError");
}
