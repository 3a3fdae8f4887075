import { Hub, type HubOptions } from "../../../src/core/hub.ts";
import { createLogger, MemoryLogDestination } from "../../../src/core/logger.ts";
import { waitAsync } from "./fixtures/tasks.ts";

/** A hub whose executor is a real pool of `workers` Workers, and whose log lines a test can read. */
export function poolHub(workers: number, options: Omit<HubOptions, "log" | "executorWorkers"> = {}): { hub: Hub; logs: MemoryLogDestination } {
  const logs = new MemoryLogDestination();
  const hub = new Hub({ ...options, executorWorkers: workers, log: createLogger({ level: "debug", destination: logs }) });
  return { hub, logs };
}

/** Shared Int32 counters a job and the test both see. */
export function sharedInts(length = 4): { buffer: SharedArrayBuffer; view: Int32Array } {
  const buffer = new SharedArrayBuffer(length * 4);
  return { buffer, view: new Int32Array(buffer) };
}

/** Resolves once view[index] reaches `value` (a Worker notifies it), without blocking the loop. */
export async function untilAtLeast(view: Int32Array, index: number, value: number): Promise<void> {
  for (let now = Atomics.load(view, index); now < value; now = Atomics.load(view, index)) {
    await waitAsync(view, index, now);
  }
}

/** Lets every job waiting on a gate go. */
export function open(gate: Int32Array): void {
  Atomics.store(gate, 0, 1);
  Atomics.notify(gate, 0);
}

/** The error `promise` rejects with; throws if it fulfils. */
export async function rejection(promise: PromiseLike<unknown>): Promise<Error & { code?: string; className?: string }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { code?: string; className?: string };
  }
  throw new Error("expected a rejection, but it fulfilled");
}
