/**
 * The entry of every executor Worker, pool or dedicated (one entry file, so `bun build --compile` can be
 * told its path). A pool Worker runs jobs (job-runner.ts); a dedicated Worker runs one long loop. Both
 * can call back into the loop (threadsafe.ts). Nothing here touches the loop's state.
 */
import { CancelledError, HearthError } from "../errors.ts";
import { type ExecutorErrorCode, serializeError } from "./errors.ts";
import { JobRunner, taskNotFound } from "./job-runner.ts";
import { OutcomeBatch } from "./outcome-batch.ts";
import { CALL_RESULT, type CallMessage, DEFINE, type DefineMessage, ERROR, FATAL, type Init, OK, STOP, TASK_MESSAGE, type ToWorker } from "./protocol.ts";
import { type DedicatedContext, importTaskModule, lookupDedicatedTask } from "./registered-task.ts";
import { attachThreadsafeChannel, settleThreadsafeCall } from "./threadsafe.ts";

declare const self: Worker;

const outcomes = new OutcomeBatch((message) => self.postMessage(message));
let runner: JobRunner | undefined;
let stopDedicated: (() => void) | undefined;

// An uncaught error ends this Worker: send what is held, then what killed it, so the loop can tell the job's owner.
self.addEventListener("error", (event: ErrorEvent) => {
  try {
    outcomes.flush();
    self.postMessage([FATAL, serializeError(event.error ?? new HearthError<ExecutorErrorCode>("EXECUTOR_WORKER_DIED", event.message))]);
  } catch {
    // nothing more can be said
  }
});
// process.exit() in a job: the outcomes held for the jobs before it still go.
process.on("exit", () => outcomes.flush());

self.onmessage = (event: MessageEvent) => {
  if (runner === undefined && stopDedicated === undefined) {
    init(event.data as Init);
    return;
  }
  const message = event.data as ToWorker;
  const first = message[0] as number;
  if (first >= 0) runner?.enqueue(message as unknown[]);
  else if (first === DEFINE) {
    const [, taskId, moduleUrl, name] = message as DefineMessage;
    runner?.define(taskId, moduleUrl, name);
  } else if (first === CALL_RESULT) settleThreadsafeCall(message[1] as number, message[2] as number, message[3]);
  else if (first === STOP) stopDedicated?.();
};

function init(data: Init): void {
  attachThreadsafeChannel((message: CallMessage) => self.postMessage(message), new Int32Array(data.closing));
  if (data.kind === "pool") runner = new JobRunner(new Int32Array(data.slots), outcomes);
  else runDedicated(data.name, data.moduleUrl, data.task, data.args, new Int32Array(data.stop));
}

function runDedicated(name: string, moduleUrl: string, taskName: string, args: unknown[], stop: Int32Array): void {
  const controller = new AbortController();
  stopDedicated = () => controller.abort(new CancelledError(`Dedicated Worker ${name} was asked to stop`));
  const context: DedicatedContext = {
    name,
    signal: controller.signal,
    get stopRequested() {
      return Atomics.load(stop, 0) === 1;
    },
    post(message: unknown) {
      self.postMessage([TASK_MESSAGE, message]);
    },
  };
  (async () => {
    let task = lookupDedicatedTask(moduleUrl, taskName);
    if (task === undefined) {
      await importTaskModule(moduleUrl);
      task = lookupDedicatedTask(moduleUrl, taskName);
    }
    if (task === undefined) throw taskNotFound("dedicatedTask", taskName, moduleUrl);
    return task.fn(context, ...args);
  })().then(
    (value) => {
      outcomes.add(OK, value, taskName);
      outcomes.flush();
    },
    (err) => {
      outcomes.add(ERROR, serializeError(err), taskName);
      outcomes.flush();
    },
  );
}
