import { boundedWait } from "../core/wait.ts";

/**
 * When a streaming device (a GPS receiver, a smart meter, a VE.Direct charger) was last heard, and the
 * polls waiting to hear it: such a device is available while valid frames keep coming, so a poll
 * succeeds at once when one came within the poll interval, and otherwise at the next one.
 */
export class Hearing {
  private lastAt = Number.NEGATIVE_INFINITY;
  private readonly waiting = new Set<() => void>();

  /** A valid frame came: it is heard now, and every waiting poll is answered. */
  heard(): void {
    this.lastAt = performance.now();
    for (const wake of this.waiting) wake();
    this.waiting.clear();
  }

  /** Resolves at once when heard within `withinMs`, else at the next valid frame; rejects when `signal` fires. */
  async wait(withinMs: number, signal: AbortSignal): Promise<void> {
    if (performance.now() - this.lastAt <= withinMs) return;
    await boundedWait<void>(
      (resolve) => {
        const done = () => resolve();
        this.waiting.add(done);
        return () => this.waiting.delete(done);
      },
      { signal },
    );
  }
}
