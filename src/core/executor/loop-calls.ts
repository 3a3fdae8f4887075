/** The loop's side of runCallbackThreadsafe: finds the registered callback, runs it with the hub, answers the Worker. */
import { HearthError } from "../errors.ts";
import type { Hub } from "../hub.ts";
import { jobIdFor, jobSlot } from "../job-slot.ts";
import { serializeError } from "./errors.ts";
import { CALL_RESULT, type CallMessage, ERROR, OK } from "./protocol.ts";
import { importTaskModule } from "./registered-task.ts";
import { lookupThreadsafeCallback, shuttingDown, type ThreadsafeCallback } from "./threadsafe.ts";

/** Answers thread-safe calls from the executor's Workers. */
export class ThreadsafeHost {
  private readonly hub: Hub;
  private readonly isClosing: () => boolean;
  /** Loop-monitor ids of callbacks, so a slow one is named. */
  private readonly slotIds = new Map<string, number>();

  constructor(deps: { hub: Hub; isClosing: () => boolean }) {
    this.hub = deps.hub;
    this.isClosing = deps.isClosing;
  }

  /** Runs the call `message` from `worker` and posts the answer back to it. */
  handle(worker: Worker, message: CallMessage): void {
    const [, callId, moduleUrl, name, args] = message;
    if (this.isClosing()) {
      answer(worker, callId, ERROR, serializeError(shuttingDown(name)));
      return;
    }
    const cb = lookupThreadsafeCallback(moduleUrl, name);
    if (cb !== undefined) {
      this.run(worker, callId, cb, args);
      return;
    }
    // The loop has not imported the module that declares it yet.
    importTaskModule(moduleUrl).then(
      () => {
        const found = lookupThreadsafeCallback(moduleUrl, name);
        if (found === undefined) {
          const err = new HearthError("EXECUTOR_TASK_NOT_FOUND", `No threadsafeCallback "${name}" is registered in ${moduleUrl}; declare it at the top level of that module`);
          answer(worker, callId, ERROR, serializeError(err));
        } else if (this.isClosing()) answer(worker, callId, ERROR, serializeError(shuttingDown(name)));
        else this.run(worker, callId, found, args);
      },
      (err) => answer(worker, callId, ERROR, serializeError(err)),
    );
  }

  private run(worker: Worker, callId: number, cb: ThreadsafeCallback<unknown[], unknown>, args: unknown[]): void {
    let result: unknown;
    const outer = jobSlot[0]!;
    jobSlot[0] = this.slotId(cb.name);
    try {
      result = cb.fn(this.hub, ...args);
    } catch (err) {
      answer(worker, callId, ERROR, serializeError(err));
      return;
    } finally {
      jobSlot[0] = outer;
    }
    if (typeof result === "object" && result !== null && typeof (result as PromiseLike<unknown>).then === "function") {
      (result as PromiseLike<unknown>).then(
        (value) => answer(worker, callId, OK, value, cb.name),
        (err) => answer(worker, callId, ERROR, serializeError(err)),
      );
    } else answer(worker, callId, OK, result, cb.name);
  }

  private slotId(name: string): number {
    let id = this.slotIds.get(name);
    if (id === undefined) {
      id = jobIdFor(`threadsafe ${name}`);
      this.slotIds.set(name, id);
    }
    return id;
  }
}

function answer(worker: Worker, callId: number, status: typeof OK | typeof ERROR, value: unknown, name?: string): void {
  try {
    worker.postMessage([CALL_RESULT, callId, status, value]);
  } catch (cause) {
    // A result that cannot be cloned; a Worker already gone ignores messages rather than throwing.
    const err = new HearthError("EXECUTOR_NOT_CLONEABLE", `The result of ${name ?? "a thread-safe call"} cannot be sent to the Worker`, { cause });
    try {
      worker.postMessage([CALL_RESULT, callId, ERROR, serializeError(err)]);
    } catch {
      // nothing left to tell it
    }
  }
}
