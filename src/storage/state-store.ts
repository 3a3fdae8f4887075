import type { Database } from "bun:sqlite";
import { openDatabase } from "./database.ts";

/**
 * The last published state of each device, kept so that after a restart hearth can republish it
 * (marked `restored`) until the device reports afresh. Writes are coalesced: the latest state of each
 * device is committed at most every `flushMs` (and at close), so the SD card sees few writes.
 */
export class StateStore {
  /** Bytes committed, for the write-volume figure. */
  bytesWritten = 0;
  private readonly db: Database;
  private readonly saved = new Map<string, Record<string, unknown>>();
  private readonly pending = new Map<string, string | null>();
  private readonly flushMs: number;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(options: { path: string; flushMs?: number }) {
    this.flushMs = options.flushMs ?? 30_000;
    this.db = openDatabase(options.path);
    this.db.exec("CREATE TABLE IF NOT EXISTS device_state (device TEXT PRIMARY KEY, payload TEXT NOT NULL, updated INTEGER NOT NULL)");
    for (const row of this.db.query<{ device: string; payload: string }, []>("SELECT device, payload FROM device_state").all()) {
      try {
        this.saved.set(row.device, JSON.parse(row.payload) as Record<string, unknown>);
      } catch {}
    }
  }

  /** The state kept from before this run, if any. */
  restored(device: string): Record<string, unknown> | undefined {
    return this.saved.get(device);
  }

  /** Records a device's latest state (committed with the next batch). */
  record(device: string, state: Record<string, unknown>): void {
    this.pending.set(device, JSON.stringify(state));
    this.schedule();
  }

  /** Forgets a removed device. */
  forget(device: string): void {
    this.saved.delete(device);
    this.pending.set(device, null);
    this.schedule();
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.closed || this.pending.size === 0) return;
    const upsert = this.db.query("INSERT INTO device_state (device, payload, updated) VALUES (?, ?, ?) ON CONFLICT(device) DO UPDATE SET payload = excluded.payload, updated = excluded.updated");
    const remove = this.db.query("DELETE FROM device_state WHERE device = ?");
    this.db.transaction(() => {
      for (const [device, payload] of this.pending) {
        if (payload === null) remove.run(device);
        else {
          upsert.run(device, payload, Date.now());
          this.bytesWritten += payload.length + device.length;
        }
      }
    })();
    this.pending.clear();
  }

  /** Commits what is pending and closes. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.db.close();
  }

  private schedule(): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = setTimeout(() => this.flush(), this.flushMs);
    this.timer.unref?.();
  }
}
