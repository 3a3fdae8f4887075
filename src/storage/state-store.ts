import type { Database } from "bun:sqlite";
import { type Clock, systemClock } from "../core/clock.ts";
import { StoreFile } from "./store-file.ts";

/**
 * The last published state of each device, kept so that after a restart hearth can republish it
 * (marked `restored`) until the device reports afresh. Writes are coalesced: the latest state of each
 * device is committed at most every `flushMs` (and at close), so the SD card sees few writes. Its owner
 * calls open() (which reads the file) before using it, and close() at the end.
 */
export class StateStore {
  /** Bytes committed, for the write-volume figure. */
  bytesWritten = 0;
  private readonly file: StoreFile;
  private readonly saved = new Map<string, Record<string, unknown>>();
  private readonly pending = new Map<string, string | null>();
  private readonly flushMs: number;

  /** `clock` runs the commit timer (the hub's); the system clock by default. */
  constructor(options: { path: string; flushMs?: number; clock?: Clock }) {
    this.flushMs = options.flushMs ?? 30_000;
    this.file = new StoreFile({ path: options.path, clock: options.clock ?? systemClock, commit: () => this.flush() });
  }

  /** Opens the file, creates its table and loads the states a previous run kept. Safe to call twice. */
  open(): this {
    if (!this.file.open()) return this;
    this.db.exec("CREATE TABLE IF NOT EXISTS device_state (device TEXT PRIMARY KEY, payload TEXT NOT NULL, updated INTEGER NOT NULL)");
    for (const row of this.db.query<{ device: string; payload: string }, []>("SELECT device, payload FROM device_state").all()) {
      try {
        this.saved.set(row.device, JSON.parse(row.payload) as Record<string, unknown>);
      } catch {}
    }
    return this;
  }

  /** The open database; STORAGE_NOT_OPEN before open(). */
  private get db(): Database {
    return this.file.database;
  }

  /** The state kept from before this run, if any. */
  restored(device: string): Record<string, unknown> | undefined {
    this.file.expectOpen();
    return this.saved.get(device);
  }

  /** Records a device's latest state (committed with the next batch). */
  record(device: string, state: Record<string, unknown>): void {
    this.file.expectOpen();
    this.pending.set(device, JSON.stringify(state));
    this.schedule();
  }

  /** Forgets a removed device. */
  forget(device: string): void {
    this.file.expectOpen();
    this.saved.delete(device);
    this.pending.set(device, null);
    this.schedule();
  }

  /** Commits the pending states now. */
  flush(): void {
    this.file.cancelCommit();
    if (this.file.closed || this.pending.size === 0) return;
    const upsert = this.db.query("INSERT INTO device_state (device, payload, updated) VALUES (?, ?, ?) ON CONFLICT(device) DO UPDATE SET payload = excluded.payload, updated = excluded.updated");
    const remove = this.db.query("DELETE FROM device_state WHERE device = ?");
    this.db.transaction(() => {
      for (const [device, payload] of this.pending) {
        if (payload === null) remove.run(device);
        else {
          // A wall-clock time for whoever reads the file; the injected clock is monotonic, not a date.
          upsert.run(device, payload, Date.now());
          this.bytesWritten += payload.length + device.length;
        }
      }
    })();
    this.pending.clear();
  }

  /** Commits what is pending and closes. Safe to call twice. */
  close(): void {
    this.file.close();
  }

  private schedule(): void {
    this.file.commitWithin(this.flushMs);
  }
}
