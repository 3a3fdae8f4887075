import type { EventBus } from "../../src/core/event-bus.ts";
import type { ExecutorTask } from "../../src/core/executor/registered-task.ts";
import { Hub, type HubExecutor, type HubOptions } from "../../src/core/hub.ts";
import type { HubEvents } from "../../src/core/hub-events.ts";
import { createLogger, MemoryLogDestination } from "../../src/core/logger.ts";

/** A hub whose log lines a test can read. */
export function loggedHub(options: Omit<HubOptions, "log"> = {}): { hub: Hub; logs: MemoryLogDestination } {
  const logs = new MemoryLogDestination();
  const hub = new Hub({ ...options, log: createLogger({ level: "debug", destination: logs }) });
  return { hub, logs };
}

/** Resolves once the loop has run the immediates queued before it (the hub logs unawaited failures in one). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Whether `promise` has settled by the time the loop has had a turn. */
export async function settledWithinATurn(promise: PromiseLike<unknown>): Promise<boolean> {
  let settled = false;
  Promise.resolve(promise).then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await nextTurn();
  return settled;
}

/** The error `awaitable` rejects with (awaiting it, as a caller would), or throws if it fulfils. */
export async function failureOf(awaitable: PromiseLike<unknown>): Promise<Error> {
  try {
    await awaitable;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a failure, but it fulfilled");
}

/** Whether `hub` tracks `task` (Task<T> is invariant in T, so a typed task is not a Task<unknown> to `Set.has`). */
export function isTracked(hub: Hub, task: object): boolean {
  return (hub.tasks as Set<object>).has(task);
}

/**
 * A stand-in for the Worker pool, which has its own tests in test/core/executor/: it records what the hub
 * submits and runs it in this thread, so these tests see how the hub dispatches, not how the pool runs.
 */
export function recordingExecutor(): HubExecutor & { submitted: string[] } {
  const submitted: string[] = [];
  return {
    submitted,
    submit<Args extends unknown[], Result>(task: ExecutorTask<Args, Result>, args: Args): Promise<Result> {
      submitted.push(task.name);
      return Promise.resolve().then(() => task.fn(...args)); // as from a Worker: never synchronously
    },
    close() {},
    shutdown: async () => [],
  };
}

/** Made-up events the core's tests fire, beside the hub's own. */
export type TestEvents = Record<"relay_switched" | "button_pressed" | "tick" | "reading" | "a" | "b" | "command" | "frame" | "capture_saved" | "slow_event", unknown>;

/**
 * The hub's own bus, typed to carry the tests' made-up events too. The hub's event map is closed, so
 * `hub.bus.fire("tick", …)` does not type-check; the bus itself delivers any name, which is what these tests exercise.
 */
export function testBus(hub: Hub): EventBus<HubEvents & TestEvents> {
  return hub.bus as unknown as EventBus<HubEvents & TestEvents>;
}
