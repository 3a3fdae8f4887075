import type { Database } from "bun:sqlite";
import { type Clock, systemClock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import { MAX_SET_ASIDE, MessageIds, type Outbox, type OutboxCounts, type OutboxMessage, stampPayload } from "./outbox.ts";
import { StoreFile } from "./store-file.ts";

export interface SqliteOutboxOptions {
  path: string;
  log: Logger;
  /** Most messages kept; the oldest go first. */
  maxMessages?: number;
  /** Most payload bytes kept (queued, and again set aside); the oldest go first. */
  maxBytes?: number;
  /** Removals of delivered messages are gathered and committed within this long (ms). */
  removeDelayMs?: number;
  /** The clock the removals' commit timer runs on (the hub's); the system clock by default. */
  clock?: Clock;
}

type Row = { id: number; message_id: string | null; topic: string; payload: string; qos: 0 | 1; attempts: number };

/**
 * The durable outbox: non-retained messages waiting for the broker, in bun:sqlite. A pushed message is
 * committed before it is handed out for publishing: the inserts of one turn of the event loop are
 * committed together at the end of that turn (or sooner, when `peek` asks for them), never left for
 * a timer, so a kill of hearth loses no message it had queued. The removals of delivered messages are
 * gathered for at most `removeDelayMs` (100 ms), which bounds what a kill right after a delivery sends
 * again. Messages the broker will not take are moved to a table of their own (`outbox_set_aside`).
 * Bounded in count and bytes, the oldest dropped first (counted and logged). Its owner calls open()
 * (which reads the file) before using it, and close() at the end.
 */
export class SqliteOutbox implements Outbox {
  dropped = 0;
  /** Bytes of messages committed to the database (topic and payload), for the write-volume figure. */
  bytesWritten = 0;
  private readonly options: SqliteOutboxOptions;
  private readonly file: StoreFile;
  private readonly ids = new MessageIds();
  private readonly messages: Array<OutboxMessage & { stored: boolean }> = [];
  private readonly deleted: number[] = [];
  private bytes = 0;
  private asideCount = 0;
  private nextId = 1;
  private commitQueued = false;

  constructor(options: SqliteOutboxOptions) {
    this.options = options;
    this.file = new StoreFile({ path: options.path, clock: options.clock ?? systemClock, commit: () => this.flush() });
  }

  /** Opens the file, creates or updates its tables and loads the messages a previous run left. Safe to call twice. */
  open(): this {
    if (!this.file.open()) return this;
    this.db.exec("CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload TEXT NOT NULL, qos INTEGER NOT NULL)");
    // Databases from before message ids and attempts gain the columns; their messages get an id now.
    const columns = new Set(
      this.db
        .query<{ name: string }, []>("PRAGMA table_info(outbox)")
        .all()
        .map((c) => c.name),
    );
    if (!columns.has("message_id")) this.db.exec("ALTER TABLE outbox ADD COLUMN message_id TEXT");
    if (!columns.has("attempts")) this.db.exec("ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0");
    this.db.exec(
      "CREATE TABLE IF NOT EXISTS outbox_set_aside (id INTEGER PRIMARY KEY, message_id TEXT NOT NULL, topic TEXT NOT NULL, payload TEXT NOT NULL, qos INTEGER NOT NULL, attempts INTEGER NOT NULL, reason TEXT NOT NULL, set_aside_at TEXT NOT NULL)",
    );
    const rows = this.db.query<Row, []>("SELECT id, message_id, topic, payload, qos, attempts FROM outbox ORDER BY id").all();
    const unnamed = rows.filter((r) => r.message_id === null);
    if (unnamed.length > 0) {
      const name = this.db.query("UPDATE outbox SET message_id = ? WHERE id = ?");
      this.db.transaction(() => {
        for (const row of unnamed) name.run((row.message_id = this.ids.of(row.id)), row.id);
      })();
    }
    for (const row of rows) {
      this.messages.push({ id: row.id, messageId: row.message_id!, topic: row.topic, payload: row.payload, qos: row.qos, attempts: row.attempts, stored: true });
      this.bytes += row.payload.length;
    }
    this.nextId = (rows.at(-1)?.id ?? 0) + 1;
    this.asideCount = this.db.query<{ n: number }, []>("SELECT count(*) AS n FROM outbox_set_aside").get()!.n;
    if (rows.length > 0) this.options.log.info({ messages: rows.length }, `Outbox holds ${rows.length} messages from before; they are delivered once connected`);
    return this;
  }

  /** The open database; STORAGE_NOT_OPEN before open(). */
  private get db(): Database {
    return this.file.database;
  }

  get size(): number {
    return this.messages.length;
  }

  push(topic: string, payload: unknown, qos: 0 | 1): OutboxMessage {
    this.file.expectOpen(); // here, rather than from the commit at the end of this turn
    const id = this.nextId++;
    const messageId = this.ids.of(id);
    const message = { id, messageId, topic, payload: stampPayload(payload, messageId), qos, attempts: 0, stored: false };
    this.messages.push(message);
    this.bytes += message.payload.length;
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
    // Committed at the end of this turn of the loop, with whatever else this turn pushed.
    if (!this.commitQueued && !this.file.closed) {
      this.commitQueued = true;
      queueMicrotask(() => this.flush());
    }
    return { id, messageId, topic, payload: message.payload, qos, attempts: 0 };
  }

  peek(limit: number): OutboxMessage[] {
    // Nothing is published before it is on disk: a message handed out here is one a kill cannot lose.
    const head = this.messages.slice(0, limit);
    if (head.some((m) => !m.stored)) this.flush();
    return head.map(({ id, messageId, topic, payload, qos, attempts }) => ({ id, messageId, topic, payload, qos, attempts }));
  }

  remove(id: number): void {
    const i = this.messages.findIndex((m) => m.id === id);
    if (i >= 0) this.forget(i);
    if (this.deleted.length > 0) this.file.commitWithin(this.options.removeDelayMs ?? 100);
  }

  failed(id: number): number {
    const message = this.messages.find((m) => m.id === id);
    if (message === undefined) return 0;
    message.attempts++;
    // Committed at once (this is rare): a restart must not give a message that jams the connection new tries.
    this.commit(() => this.db.query("UPDATE outbox SET attempts = ? WHERE id = ?").run(message.attempts, id));
    return message.attempts;
  }

  setAside(id: number, reason: string): void {
    const i = this.messages.findIndex((m) => m.id === id);
    if (i < 0 || this.file.closed) return;
    const [m] = this.messages.splice(i, 1) as [OutboxMessage & { stored: boolean }];
    this.bytes -= m.payload.length;
    const maxBytes = this.options.maxBytes ?? 4 * 1024 * 1024;
    this.commit(() => {
      this.db
        .query("INSERT INTO outbox_set_aside (message_id, topic, payload, qos, attempts, reason, set_aside_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .run(m.messageId, m.topic, m.payload, m.qos, m.attempts, reason, new Date().toISOString());
      if (m.stored) this.db.query("DELETE FROM outbox WHERE id = ?").run(m.id);
      // Bounded like the queue: the newest are kept; the oldest past the count or the bytes are dropped.
      const kept = this.db.query<{ id: number; bytes: number }, []>("SELECT id, length(payload) AS bytes FROM outbox_set_aside ORDER BY id DESC").all();
      let total = 0;
      const stale = kept.filter((row, n) => n >= MAX_SET_ASIDE || ((total += row.bytes) > maxBytes && n > 0));
      for (const row of stale) this.db.query("DELETE FROM outbox_set_aside WHERE id = ?").run(row.id);
      this.dropped += stale.length;
      this.asideCount = kept.length - stale.length;
    });
  }

  counts(): OutboxCounts {
    return { queued: this.messages.length, dropped: this.dropped, set_aside: this.asideCount };
  }

  /** Commits what is pending now: the inserts of this turn and the removals gathered so far. */
  flush(): void {
    this.commit();
  }

  /** Commits what is pending and closes the file. Safe to call twice. */
  close(): void {
    this.file.close();
  }

  /** One transaction: the gathered removals, the pending inserts, then `also`. */
  private commit(also?: () => void): void {
    this.commitQueued = false;
    this.file.cancelCommit();
    if (this.file.closed) return;
    // The messages not yet stored are the newest: a suffix of the queue.
    let first = this.messages.length;
    while (first > 0 && !this.messages[first - 1]!.stored) first--;
    const inserts = this.messages.slice(first);
    if (inserts.length === 0 && this.deleted.length === 0 && also === undefined) return;
    const insert = this.db.query("INSERT INTO outbox (id, message_id, topic, payload, qos, attempts) VALUES (?, ?, ?, ?, ?, ?)");
    const remove = this.db.query("DELETE FROM outbox WHERE id = ?");
    this.db.transaction(() => {
      for (const id of this.deleted) remove.run(id);
      for (const m of inserts) {
        insert.run(m.id, m.messageId, m.topic, m.payload, m.qos, m.attempts);
        m.stored = true;
        this.bytesWritten += m.payload.length + m.topic.length;
      }
      also?.();
    })();
    this.deleted.length = 0;
  }

  private forget(index: number): void {
    const [m] = this.messages.splice(index, 1);
    if (m === undefined) return;
    this.bytes -= m.payload.length;
    if (m.stored) this.deleted.push(m.id);
  }
}
