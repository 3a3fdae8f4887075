/** Starting and ending executor Workers; where their script is lives in src/worker-entries.ts. */
import { startWorker } from "../../worker-entries.ts";

/** Starts an executor Worker. */
export function spawnExecutorWorker(): Worker {
  return startWorker("executor");
}

/** Ends a Worker without letting it hold the process: unref first, since a terminated Worker stuck in a system call still would. */
export function endWorker(worker: Worker): void {
  worker.unref();
  worker.terminate();
}
