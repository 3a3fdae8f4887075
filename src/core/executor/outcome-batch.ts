/**
 * A Worker's outgoing job outcomes. While a Worker runs jobs of tasks that have always taken
 * microseconds, their outcomes are held and sent together (one message for up to MAX_HELD, held at most
 * MAX_HOLD_MS), which roughly halves what a trivial job costs the loop. What is held goes before any job
 * that may be slow (a task not known to be fast, a job with a timeout or a signal), so results wait
 * behind another job only if a task that always took microseconds suddenly blocks; a job that may block
 * long should have a timeout anyway. Runs in Workers only.
 */
import { HearthError } from "../errors.ts";
import { serializeError } from "./errors.ts";
import { ERROR } from "./protocol.ts";

/** Outcomes held at most before they go. */
const MAX_HELD = 32;
/** Milliseconds an outcome may be held while more fast jobs run. */
const MAX_HOLD_MS = 1;

/** Holds and sends a Worker's outcomes, in order. */
export class OutcomeBatch {
  /** Flat: status, value, status, value, … */
  private held: unknown[] = [];
  /** The task name of each held outcome, for the error when a result cannot be cloned. */
  private names: string[] = [];
  private since = 0;

  constructor(private readonly post: (message: unknown[]) => void) {}

  get holding(): boolean {
    return this.names.length > 0;
  }

  /** Holds an outcome; sends what is held once there is enough of it. */
  add(status: number, value: unknown, name: string): void {
    if (this.names.length === 0) this.since = performance.now();
    this.held.push(status, value);
    this.names.push(name);
    if (this.names.length >= MAX_HELD) this.flush();
  }

  /** Whether what is held has waited long enough to go now. */
  overdue(): boolean {
    return this.names.length > 0 && performance.now() - this.since >= MAX_HOLD_MS;
  }

  /** Sends everything held, in order. */
  flush(): void {
    if (this.names.length === 0) return;
    const held = this.held;
    const names = this.names;
    this.held = [];
    this.names = [];
    try {
      this.post(held);
    } catch {
      // One of the results cannot be cloned: send each alone, that one as an error.
      for (let i = 0; i < names.length; i++) {
        try {
          this.post([held[2 * i], held[2 * i + 1]]);
        } catch (cause) {
          const err = new HearthError("EXECUTOR_NOT_CLONEABLE", `The result of ${names[i]} cannot be sent back to the loop: ${messageOf(cause)}`, { cause });
          this.post([ERROR, serializeError(err)]);
        }
      }
    }
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
