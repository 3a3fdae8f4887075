/**
 * Every script hearth starts a Worker on, named in one place: deploy/build gives each to
 * `bun build --compile` as an entry point, and workerScript() finds each from source and inside a binary.
 * Only the composition root (src/service.ts, src/cli.ts) reads it: it hands the core what to start
 * (HubOptions.executorScript, LoopMonitorOptions.watchdogScript), so core never loads application code.
 */
import { EMBEDDED_ROOT, isEmbeddedUrl } from "./core/compiled.ts";

/** The Worker entries, as paths under src/ (the build's root). */
export const WORKER_ENTRIES = {
  /**
   * The executor's pool and dedicated Workers (the serial readers among them), with every module that
   * declares an executor or dedicated task.
   */
  executor: "executor-worker.ts",
  /** The loop monitor's watchdog. */
  loopWatchdog: "core/loop-watchdog.ts",
} as const;

/** The name of a Worker entry. */
export type WorkerEntry = keyof typeof WORKER_ENTRIES;

/** The script to start a Worker on: the source file, or inside a compiled binary its bundled copy. */
export function workerScript(entry: WorkerEntry): string {
  const path = WORKER_ENTRIES[entry];
  if (isEmbeddedUrl(import.meta.url)) return `${EMBEDDED_ROOT}${path.replace(/\.ts$/, ".js")}`;
  return new URL(`./${path}`, import.meta.url).href;
}
