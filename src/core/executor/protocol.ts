/**
 * The messages between the loop and executor Workers: flat arrays of numbers and the jobs' own values,
 * with jobs sent in batches and quick jobs' outcomes sent together, so a trivial job costs less than a
 * bare postMessage round trip. Workers import this.
 *
 * Loop → pool Worker
 *   jobs:         [header, ...args, header, ...args, …]  (one or more jobs, flat; see jobHeader)
 *   define:       [DEFINE, taskId, moduleUrl, name]  (before the first job of a task on that Worker)
 *   call result:  [CALL_RESULT, callId, OK | ERROR, value]
 * Pool or dedicated Worker → loop
 *   outcomes:     [status, value, status, value, …]  (one pair per job, in job order; status OK with the
 *                 result, ERROR with a SerializedError, SKIPPED with undefined)
 *   call:         [CALL, callId, moduleUrl, name, args]                 (runCallbackThreadsafe)
 *   fatal:        [FATAL, SerializedError]                               (uncaught; the Worker dies next)
 * Loop → dedicated Worker
 *   stop:         [STOP]
 */
import type { SerializedError } from "./errors.ts";

/** Outcome statuses, and the kinds of other messages from a Worker. */
export const OK = 0;
export const ERROR = 1;
export const SKIPPED = 2;
export const CALL = 3;
export const FATAL = 4;
/** From a dedicated Worker's loop to its owner on the loop thread (DedicatedContext.post). */
export const TASK_MESSAGE = 5;

/** Control messages to a Worker carry a negative first element; a batch of jobs starts with a header (≥ 0). */
export const CALL_RESULT = -1;
export const STOP = -2;
export const DEFINE = -3;

/**
 * States of a job's slot in a pool Worker's shared Int32Array. The loop sets QUEUED before it posts a
 * job; the Worker claims it with QUEUED → RUNNING; the loop withdraws a job not yet started with
 * QUEUED → CANCELLED (an abort, a Worker going idle taking it over, shutdown), and the Worker then skips
 * it. Whichever compare-exchange wins decides, so a job never both runs and is withdrawn.
 */
export const QUEUED = 1;
export const RUNNING = 2;
export const CANCELLED = 3;

/** Jobs a pool Worker may hold at once: one running and the rest waiting in its message queue. */
export const WINDOW = 64;

/** The most arguments a job may have (they are counted in 7 bits of its header). */
export const MAX_ARGS = 127;

/**
 * One number per job ahead of its arguments: its slot (16 bits), whether the loop times it or may abort
 * it (1 bit: its outcome is then sent at once, never held), its argument count (7 bits) and its task id
 * (the bits above). One number rather than four: every element of a message costs its clone.
 */
export function jobHeader(slot: number, watched: boolean, argc: number, taskId: number): number {
  return taskId * 0x1000000 + argc * 0x20000 + (watched ? 0x10000 : 0) + slot;
}

/** The parts of a job header. */
export const headerSlot = (header: number): number => header & 0xffff;
export const headerWatched = (header: number): boolean => (header & 0x10000) !== 0;
export const headerArgc = (header: number): number => (header >>> 17) & 0x7f;
export const headerTaskId = (header: number): number => Math.floor(header / 0x1000000);

/** A busy Worker is sent more only once it holds no more than this, so jobs go in batches rather than one message each. */
export const REFILL_AT = WINDOW / 2;

/** The first message to a pool Worker. */
export interface PoolInit {
  kind: "pool";
  /** WINDOW Int32 slot states. */
  slots: SharedArrayBuffer;
  /** Int32[0] = 1 once the executor closed: thread-safe calls are refused without asking the loop. */
  closing: SharedArrayBuffer;
}

/** The first message to a dedicated Worker. */
export interface DedicatedInit {
  kind: "dedicated";
  name: string;
  moduleUrl: string;
  task: string;
  args: unknown[];
  closing: SharedArrayBuffer;
  /** Int32[0] = 1 once a stop is requested. */
  stop: SharedArrayBuffer;
}

export type Init = PoolInit | DedicatedInit;

/** Flat: the header and the arguments of each job in turn. */
/** A batch of jobs. */
export type JobsMessage = unknown[];
export type DefineMessage = [kind: typeof DEFINE, taskId: number, moduleUrl: string, name: string];
export type CallResultMessage = [kind: typeof CALL_RESULT, callId: number, status: typeof OK | typeof ERROR, value: unknown];
export type ToWorker = JobsMessage | DefineMessage | CallResultMessage | [kind: typeof STOP];

export type CallMessage = [kind: typeof CALL, callId: number, moduleUrl: string, name: string, args: unknown[]];
export type FatalMessage = [kind: typeof FATAL, error: SerializedError];
export type TaskMessage = [kind: typeof TASK_MESSAGE, data: unknown];
