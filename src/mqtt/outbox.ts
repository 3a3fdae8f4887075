/** A message waiting to be published. */
export interface OutboxMessage {
  id: number;
  topic: string;
  payload: string;
  qos: 0 | 1;
}

/**
 * Non-retained messages (events, command responses) waiting for the broker, oldest first. Retained
 * state is never queued: its latest value is republished on every connect instead.
 */
export interface Outbox {
  push(topic: string, payload: string, qos: 0 | 1): void;
  /** The oldest messages, up to `limit`, still in the outbox until removed. */
  peek(limit: number): OutboxMessage[];
  remove(id: number): void;
  readonly size: number;
  /** Messages dropped because the outbox was full. */
  readonly dropped: number;
  close(): void;
}

/** An outbox in memory, bounded in count (the oldest dropped first): for tests and when storage is off. */
export class MemoryOutbox implements Outbox {
  private readonly messages: OutboxMessage[] = [];
  private nextId = 1;
  dropped = 0;
  private readonly maxMessages: number;

  constructor(options: { maxMessages?: number } = {}) {
    this.maxMessages = options.maxMessages ?? 10_000;
  }

  get size(): number {
    return this.messages.length;
  }

  push(topic: string, payload: string, qos: 0 | 1): void {
    this.messages.push({ id: this.nextId++, topic, payload, qos });
    while (this.messages.length > this.maxMessages) {
      this.messages.shift();
      this.dropped++;
    }
  }

  peek(limit: number): OutboxMessage[] {
    return this.messages.slice(0, limit);
  }

  remove(id: number): void {
    const i = this.messages.findIndex((m) => m.id === id);
    if (i >= 0) this.messages.splice(i, 1);
  }

  close(): void {}
}
