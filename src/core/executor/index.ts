/** The executor: blocking work on a pool of Bun Workers, dedicated Workers for long loops, thread-safe calls back into the loop. */
export { DedicatedWorker, type DedicatedState, type DedicatedWorkerOptions } from "./dedicated.ts";
export { type ExecutorErrorCode, type RemoteError } from "./errors.ts";
export { type LatencyPercentiles } from "./latency.ts";
export { Executor, type ExecutorOptions, type ExecutorStats } from "./executor.ts";
export { defaultWorkerCount, type PoolStats, WorkerPool, type WorkerPoolOptions } from "./pool.ts";
export {
  type DedicatedContext,
  type DedicatedTask,
  dedicatedTask,
  type ExecutorTask,
  executorTask,
  isDedicatedTask,
  isExecutorTask,
} from "./task.ts";
export { isThreadsafeCallback, runCallbackThreadsafe, type ThreadsafeCallback, threadsafeCallback } from "./threadsafe.ts";
