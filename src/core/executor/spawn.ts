/**
 * The one place that names the executor's Worker script. Run from source, it is `./worker.ts` next to
 * this module. In a `bun build --compile` binary (worker.ts given as an entry point) every module's
 * import.meta.url is the binary's, so the script is looked up under the binary's embedded root instead.
 */
import { existsSync } from "node:fs";
import { allowBlockingCalls } from "../blocking-calls.ts";

const EMBEDDED_ROOT = "/$bunfs/root/";
/** Where worker.ts lands under the embedded root, for the usual roots of a build (the repository, src/, src/core/). */
const EMBEDDED_PLACES = ["src/core/executor/worker", "core/executor/worker", "executor/worker", "worker"];

let script: string | URL | undefined;

function workerScript(): string | URL {
  if (script !== undefined) return script;
  const here = new URL("./worker.ts", import.meta.url);
  script = here;
  if (here.pathname.startsWith(EMBEDDED_ROOT)) {
    // Once per process, at the first Worker; bundled entry points are stored as .js.
    const found = allowBlockingCalls(() => EMBEDDED_PLACES.find((place) => existsSync(`${EMBEDDED_ROOT}${place}.js`)));
    if (found !== undefined) script = `${EMBEDDED_ROOT}${found}.js`;
  }
  return script;
}

/** Starts an executor Worker. */
export function spawnExecutorWorker(): Worker {
  return new Worker(workerScript());
}

/** Ends a Worker without letting it hold the process: unref first, since a terminated Worker stuck in a system call still would. */
export function endWorker(worker: Worker): void {
  worker.unref();
  worker.terminate();
}
