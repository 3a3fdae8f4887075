import type { Database } from "bun:sqlite";
import type { Logger } from "../core/logger.ts";
import type { Outbox, OutboxMessage } from "../mqtt/outbox.ts";
import { openDatabase } from "./database.ts";

export interface SqliteOutboxOptions {
  path: string;
  log: Logger;
  /** Most messages kept; the oldest go first. */
  maxMessages?: number;
  /** Most payload bytes kept; the oldest go first. */
  maxBytes?: number;
  /** Writes are gathered and committed at most this often (ms), so the SD card sees few writes. */
  flushMs?: number;
}

/**
 * The durable outbox: non-retained messages waiting for the broker, in bun:sqlite. It works from
 * memory and commits to disk in coalesced batches; a message delivered before its batch is due never
 * touches the disk. Bounded in count and bytes, the oldest dropped first (counted and logged).
 */
export class SqliteOutbox implements Outbox {
  dropped = 0;
  /** Bytes committed to the database file (inserted payloads), for the write-volume figure. */
  bytesWritten = 0;
  private readonly options: SqliteOutboxOptions;
  private readonly db: Database;
  private readonly messages: Array<OutboxMessage & { stored: boolean }> = [];
  private readonly deleted: number[] = [];
  private bytes = 0;
  private nextId: number;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(options: SqliteOutboxOptions) {
    this.options = options;
    this.db = openDatabase(options.path);
    this.db.exec("CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload TEXT NOT NULL, qos INTEGER NOT NULL)");
    const rows = this.db.query<{ id: number; topic: string; payload: string; qos: 0 | 1 }, []>("SELECT id, topic, payload, qos FROM outbox ORDER BY id").all();
    for (const row of rows) {
      this.messages.push({ ...row, stored: true });
      this.bytes += row.payload.length;
    }
    this.nextId = (rows.at(-1)?.id ?? 0) + 1;
    if (rows.length > 0) options.log.info({ messages: rows.length }, `Outbox holds ${rows.length} messages from before; they are delivered once connected`);
  }

  get size(): number {
    return this.messages.length;
  }

  push(topic: string, payload: string, qos: 0 | 1): void {
    this.messages.push({ id: this.nextId++, topic, payload, qos, stored: false });
    this.bytes += payload.length;
    const maxMessages = this.options.maxMessages ?? 10_000;
    const maxBytes = this.options.maxBytes ?? 4 * 1024 * 1024;
    let dropped = 0;
    while (this.messages.length > 1 && (this.messages.length > maxMessages || this.bytes > maxBytes)) {
      this.forget(0);
      dropped++;
    }
    if (dropped > 0) {
      this.dropped += dropped;
      this.options.log.warn({ dropped, total: this.dropped }, `Outbox full: dropped the ${dropped} oldest message(s) (${this.dropped} so far)`);
    }
    this.schedule();
  }

  peek(limit: number): OutboxMessage[] {
    return this.messages.slice(0, limit).map(({ id, topic, payload, qos }) => ({ id, topic, payload, qos }));
  }

  remove(id: number): void {
    const i = this.messages.findIndex((m) => m.id === id);
    if (i >= 0) this.forget(i);
    this.schedule();
  }

  /** Commits what is pending now (also done by the timer and at close). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.closed) return;
    const inserts = this.messages.filter((m) => !m.stored);
    if (inserts.length === 0 && this.deleted.length === 0) return;
    const insert = this.db.query("INSERT INTO outbox (id, topic, payload, qos) VALUES (?, ?, ?, ?)");
    const remove = this.db.query("DELETE FROM outbox WHERE id = ?");
    this.db.transaction(() => {
      for (const id of this.deleted) remove.run(id);
      for (const m of inserts) {
        insert.run(m.id, m.topic, m.payload, m.qos);
        m.stored = true;
        this.bytesWritten += m.payload.length + m.topic.length;
      }
    })();
    this.deleted.length = 0;
  }

  /** Commits what is pending and closes the file. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.db.close();
  }

  private forget(index: number): void {
    const [m] = this.messages.splice(index, 1);
    if (m === undefined) return;
    this.bytes -= m.payload.length;
    if (m.stored) this.deleted.push(m.id);
  }

  private schedule(): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = setTimeout(() => this.flush(), this.options.flushMs ?? 1000);
    this.timer.unref?.();
  }
}
