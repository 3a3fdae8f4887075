import { randomBytes } from "node:crypto";

/** A message waiting to be published. */
export interface OutboxMessage {
  /** Its place in the outbox, oldest first. */
  id: number;
  /** What a subscriber deduplicates on: the same on every delivery of this message, never used for another. */
  messageId: string;
  topic: string;
  /** As published: a JSON object carries `messageId` in its `message_id` field. */
  payload: string;
  qos: 0 | 1;
  /** Deliveries lost so far (the connection dropped while it was in flight, or the broker refused it). */
  attempts: number;
}

/** What bridge/info and the health request say of the outbox. */
export interface OutboxCounts {
  /** Waiting to be delivered. */
  queued: number;
  /** Lost because the outbox (or the set-aside messages) were full. */
  dropped: number;
  /** Set aside (the broker would not take them) and kept, not delivered. */
  set_aside: number;
}

/** The payload field that carries the message id. */
export const MESSAGE_ID_FIELD = "message_id";

/** Set-aside messages kept, at most; the oldest go first (counted as dropped). */
export const MAX_SET_ASIDE = 100;

/**
 * Non-retained messages (events, command responses) waiting for the broker, oldest first. Retained
 * state is never queued: its latest value is republished on every connect instead.
 */
export interface Outbox {
  /** Queues a message under a new message id; a JSON object payload gets the id as its `message_id`. */
  push(topic: string, payload: unknown, qos: 0 | 1): OutboxMessage;
  /** The oldest messages, up to `limit`, still in the outbox until removed; each is durable by then. */
  peek(limit: number): OutboxMessage[];
  /** Forgets a delivered message. */
  remove(id: number): void;
  /** Counts a lost delivery of a message (kept across restarts) and returns its attempts so far. */
  failed(id: number): number;
  /** Takes a message the broker will not take out of the queue and keeps it apart (the oldest go first when full). */
  setAside(id: number, reason: string): void;
  /** Commits what waits to be committed (removals are gathered for a moment). */
  flush(): void;
  readonly size: number;
  /** Messages dropped because the outbox was full. */
  readonly dropped: number;
  counts(): OutboxCounts;
  close(): void;
}

/**
 * Message ids: a random prefix drawn each time an outbox opens, then the message's place in it
 * (`3f9a0c7e12b44d10-17`). The prefix makes them unique across restarts and a deleted database without
 * writing a counter to disk for every message or trusting the clock (a board without a real-time clock
 * boots in the past); the id is stored with the message, so a redelivery after a restart carries the
 * id of the first delivery.
 */
export class MessageIds {
  private readonly prefix = randomBytes(8).toString("hex");

  /** The id of the message at `id` in this outbox. */
  of(id: number): string {
    return `${this.prefix}-${id}`;
  }
}

/** The payload as published: a JSON object gains the message id; a string or any other value goes as it is. */
export function stampPayload(payload: unknown, messageId: string): string {
  if (typeof payload === "string") return payload;
  if (payload !== null && typeof payload === "object" && !Array.isArray(payload)) return JSON.stringify({ ...payload, [MESSAGE_ID_FIELD]: messageId });
  return JSON.stringify(payload);
}

/** An outbox in memory, bounded in count (the oldest dropped first): for tests and when storage is off. */
export class MemoryOutbox implements Outbox {
  dropped = 0;
  private readonly messages: OutboxMessage[] = [];
  private readonly aside: OutboxMessage[] = [];
  private readonly ids = new MessageIds();
  private nextId = 1;
  private readonly maxMessages: number;

  constructor(options: { maxMessages?: number } = {}) {
    this.maxMessages = options.maxMessages ?? 10_000;
  }

  get size(): number {
    return this.messages.length;
  }

  push(topic: string, payload: unknown, qos: 0 | 1): OutboxMessage {
    const id = this.nextId++;
    const messageId = this.ids.of(id);
    const message = { id, messageId, topic, payload: stampPayload(payload, messageId), qos, attempts: 0 };
    this.messages.push(message);
    while (this.messages.length > this.maxMessages) {
      this.messages.shift();
      this.dropped++;
    }
    return message;
  }

  peek(limit: number): OutboxMessage[] {
    return this.messages.slice(0, limit);
  }

  remove(id: number): void {
    const i = this.messages.findIndex((m) => m.id === id);
    if (i >= 0) this.messages.splice(i, 1);
  }

  failed(id: number): number {
    const message = this.messages.find((m) => m.id === id);
    if (message === undefined) return 0;
    return ++message.attempts;
  }

  setAside(id: number): void {
    const i = this.messages.findIndex((m) => m.id === id);
    if (i < 0) return;
    this.aside.push(...this.messages.splice(i, 1));
    if (this.aside.length > MAX_SET_ASIDE) {
      this.aside.shift();
      this.dropped++;
    }
  }

  flush(): void {}

  counts(): OutboxCounts {
    return { queued: this.messages.length, dropped: this.dropped, set_aside: this.aside.length };
  }

  close(): void {}
}
