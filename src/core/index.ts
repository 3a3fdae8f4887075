/** The core of hearth: the loop machinery of Home Assistant's async model, on Bun. */
export { type Clock, ManualClock, systemClock } from "./clock.ts";
export { Context } from "./context.ts";
export { CancelledError, HearthError, isCancelledError, isHearthError, isTimeoutError, TimeoutError } from "./errors.ts";
export { Event, type EventOrigin } from "./event.ts";
export { EventBus, type EventMap, MATCH_ALL } from "./event-bus.ts";
export {
  type DedicatedContext,
  type DedicatedTask,
  type DedicatedWorker,
  type DedicatedWorkerOptions,
  dedicatedTask,
  Executor,
  type ExecutorErrorCode,
  type ExecutorStats,
  type ExecutorTask,
  executorTask,
  isExecutorTask,
  type RemoteError,
  runCallbackThreadsafe,
  type ThreadsafeCallback,
  threadsafeCallback,
} from "./executor/index.ts";
export { type Gathered, gatherWithLimitedConcurrency } from "./gather.ts";
export { type CreateTaskOptions, type ExecutorJobOptions, Hub, type HubExecutor, type HubOptions, type HubState } from "./hub.ts";
export type { HubEvents } from "./hub-events.ts";
export { callback, coroutine, detectJobType, isCallback, isCoroutineFunction, Job, type JobOptions, JobType } from "./job.ts";
export { createLogger, LOG_LEVELS, type Logger, type LogLevel, MemoryLogDestination, silentLogger } from "./logger.ts";
export { Lock, Semaphore } from "./semaphore.ts";
export { type LoopMonitorOptions, LoopMonitor, type LoopStats } from "./loop-monitor.ts";
export { allowBlockingCalls, type BlockingCallMode, installBlockingCallGuard } from "./blocking-calls.ts";
export { DEFAULT_STAGE_TIMEOUTS, type StageTimeouts, type StopResult } from "./shutdown.ts";
export { installSignalHandlers } from "./signals.ts";
export { type Attributes, isValidEntityId, splitEntityId, State } from "./state.ts";
export { type StateChangedData, StateMachine } from "./state-machine.ts";
export { abortable, sleep, Task, type TaskStatus } from "./task.ts";
export { type Freeze, TimeoutManager, TimeoutScope } from "./timeout.ts";
export { trackStateChange, trackStateChangeEvent } from "./track-state.ts";
