/**
 * Starting and ending Workers. Core starts its Workers on the scripts its composition root hands it
 * (src/worker-entries.ts, which finds them from source and inside a binary) and never imports them.
 */
import { isEmbeddedUrl } from "../compiled.ts";
import { HearthError } from "../errors.ts";

/** What a Worker starts on: a script's path or URL. */
export type WorkerScript = string | URL;

/**
 * `script`, or else core's own entry at `own` (relative to `base`, the caller's import.meta.url). Core's
 * own executor entry is a whole Worker from source, where it imports each task's module when first asked
 * for it; inside a compiled binary no module has a file of its own, so there a script must be given.
 */
export function scriptOrOwn(script: WorkerScript | undefined, own: string, base: string, what: string): WorkerScript {
  if (script !== undefined) return script;
  if (isEmbeddedUrl(base)) {
    throw new HearthError("WORKER_SCRIPT_MISSING", `No script was given for the ${what} Worker: inside a compiled binary the composition root hands it to the core (src/worker-entries.ts)`);
  }
  return new URL(own, base);
}

/** The script of an executor Worker: the one given, else core's own Worker loop (from source only). */
export function executorScript(script: WorkerScript | undefined): WorkerScript {
  return scriptOrOwn(script, "./worker.ts", import.meta.url, "executor");
}

/** Ends a Worker without letting it hold the process: unref first, since a terminated Worker stuck in a system call still would. */
export function endWorker(worker: Worker): void {
  worker.unref();
  worker.terminate();
}
