import { HearthError } from "./errors.ts";

/** off: say nothing; warn: log with the caller's stack; raise: log and throw (tests, development). */
export type BlockingCallMode = "off" | "warn" | "raise";

/** Who hears about blocking calls: the loop monitor while the hub runs. */
export interface BlockingCallReporter {
  mode: BlockingCallMode;
  report: (call: string, stack: string, caller: string | undefined) => void;
}

let reporter: BlockingCallReporter | undefined;
let reporting = false;
let allowDepth = 0;
let installed = false;
const seenCallers = new Set<string>();

/** Turns reports on (the monitor, once the hub runs) or off (undefined). */
export function setBlockingCallReporter(next: BlockingCallReporter | undefined): void {
  reporter = next;
  seenCallers.clear();
}

/** Runs `fn` with blocking calls allowed: for the few places that block on purpose (last-gasp writes at exit). */
export function allowBlockingCalls<T>(fn: () => T): T {
  allowDepth++;
  try {
    return fn();
  } finally {
    allowDepth--;
  }
}

// Logging writes synchronously on purpose (no line lost at a crash); those frames are not reported.
const EXEMPT = /node_modules[\\/](pino|sonic-boom|thread-stream)[\\/]/;

function check(call: string): void {
  const r = reporter;
  if (r === undefined || reporting || allowDepth > 0 || !Bun.isMainThread) return;
  const stack = new Error().stack ?? "";
  const frames = stack.split("\n").filter((f) => f.trimStart().startsWith("at ") && !f.includes("blocking-calls.ts"));
  if (frames.some((f) => EXEMPT.test(f))) return;
  const caller = frames[0]?.trim().replace(/^at /, "");
  reporting = true;
  try {
    // Once per call site: a loop calling readFileSync every second must not flood the log.
    const key = `${call}@${caller}`;
    if (!seenCallers.has(key)) {
      if (seenCallers.size < 1000) seenCallers.add(key);
      r.report(call, frames.join("\n"), caller);
    }
  } finally {
    reporting = false;
  }
  if (r.mode === "raise") {
    throw new HearthError("BLOCKING_CALL", `Detected blocking call to ${call} inside the event loop${caller ? ` at ${caller}` : ""}`);
  }
}

function wrap(owner: Record<string, unknown>, key: string, label: string): void {
  const original = owner[key];
  if (typeof original !== "function" || (original as { __hearthGuard?: boolean }).__hearthGuard) return;
  // Writes to the process's own stdout and stderr are its log (pino writes synchronously so that no
  // line is lost at a crash): exempt before any stack is taken, which costs far more than the write.
  const toOwnOutput = label === "writeSync" || label === "fsyncSync" || label === "fdatasyncSync";
  const guarded = function (this: unknown, ...args: unknown[]) {
    if (reporter !== undefined && !(toOwnOutput && (args[0] === 1 || args[0] === 2))) check(label);
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  };
  Object.defineProperty(guarded, "name", { value: (original as { name: string }).name });
  (guarded as { __hearthGuard?: boolean }).__hearthGuard = true;
  try {
    owner[key] = guarded;
  } catch {
    // a read-only binding: leave it unguarded rather than fail start-up
  }
}

/**
 * Wraps the common blocking calls — synchronous `node:fs` functions, `child_process.*Sync`,
 * `Bun.sleepSync`, `Bun.spawnSync` — so that calls on the loop thread can be reported. The wrappers
 * cost one check while nobody listens. Must run before any other module imports `node:fs`, since Bun
 * binds a module's named imports of a builtin when that module loads (hence src/preload.ts).
 */
export function installBlockingCallGuard(): void {
  if (installed || !Bun.isMainThread) return;
  installed = true;
  // require, not import: an import would bind node:fs here before the wrappers exist.
  const fs = require("node:fs") as Record<string, unknown>;
  for (const key of Object.keys(fs)) {
    if (key.endsWith("Sync") && typeof fs[key] === "function") wrap(fs, key, key);
  }
  const childProcess = require("node:child_process") as Record<string, unknown>;
  for (const key of ["execSync", "execFileSync", "spawnSync"]) wrap(childProcess, key, key);
  const bun = Bun as unknown as Record<string, unknown>;
  wrap(bun, "sleepSync", "Bun.sleepSync");
  wrap(bun, "spawnSync", "Bun.spawnSync");
}
