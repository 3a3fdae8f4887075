/**
 * The last log lines, kept in memory for the web console's log page: a fixed number of pino's JSON lines
 * as the logger wrote them (already redacted), each cut to a bounded length, so the ring's memory is
 * bounded whatever is logged. Keeping a line is one store into an array; nothing is parsed here: a page
 * that is open parses what it is sent (src/http/log-feed.ts), and with no page open nobody does.
 */

/** Lines longer than this are cut (a payload logged at debug can be long); the page shows them as text. */
export const MAX_LINE_CHARS = 8 * 1024;

export class LogRing {
  readonly capacity: number;
  private readonly slots: string[] = [];
  /** Where the next line goes once the ring is full. */
  private next = 0;
  private readonly listeners = new Set<(line: string) => void>();

  /** 500 lines by default: a few minutes of a busy debug log, some hours of info. */
  constructor(capacity = 500) {
    this.capacity = capacity;
  }

  /** Keeps a line (pino's, with its newline), the oldest going once full, and tells the listeners. */
  push(line: string): void {
    const kept = line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line.trimEnd();
    if (this.slots.length < this.capacity) this.slots.push(kept);
    else {
      this.slots[this.next] = kept;
      this.next = (this.next + 1) % this.capacity;
    }
    for (const listener of this.listeners) listener(kept);
  }

  /** The lines kept, oldest first. */
  lines(): string[] {
    return [...this.slots.slice(this.next), ...this.slots.slice(0, this.next)];
  }

  /** Calls `listener` with every line kept from now on, until the returned function is called. */
  listen(listener: (line: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
