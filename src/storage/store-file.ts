import type { Database } from "bun:sqlite";
import type { Clock, TimerHandle } from "../core/clock.ts";
import { openDatabase } from "./database.ts";
import { StorageError } from "./errors.ts";

/** What a StoreFile needs: the file, the clock its commit timer runs on, and how the store commits what it gathered. */
export interface StoreFileDeps {
  path: string;
  clock: Clock;
  commit: () => void;
}

/**
 * The part the outbox and the state store share: their SQLite file, opened once by open(); a commit of
 * the writes a store gathers, made at most so long after the first of them by a timer on the injected
 * clock (so a test drives it); and close(), which commits what is pending and closes the file, once.
 */
export class StoreFile {
  private readonly deps: StoreFileDeps;
  private db: Database | undefined;
  private timer: TimerHandle | undefined;
  private isClosed = false;

  constructor(deps: StoreFileDeps) {
    this.deps = deps;
  }

  /** Opens the file: true the first time (the store then creates its tables and loads its rows), false after. */
  open(): boolean {
    if (this.db !== undefined || this.isClosed) return false;
    this.db = openDatabase(this.deps.path);
    return true;
  }

  /** Throws STORAGE_NOT_OPEN before open(). */
  expectOpen(): void {
    if (this.db === undefined) throw new StorageError("STORAGE_NOT_OPEN", `${this.deps.path}: the store is used before open()`);
  }

  /** The open database; STORAGE_NOT_OPEN before open(). */
  get database(): Database {
    this.expectOpen();
    return this.db!;
  }

  /** Whether close() has run: from then on writes stay in memory and nothing is committed. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Commits within `ms`, unless a commit is due sooner already or the file is closed. */
  commitWithin(ms: number): void {
    if (this.timer !== undefined || this.isClosed) return;
    this.timer = this.deps.clock.setTimeout(() => {
      this.timer = undefined;
      this.deps.commit();
    }, ms);
  }

  /** Forgets the commit that is due: the store is committing now. */
  cancelCommit(): void {
    if (this.timer !== undefined) this.deps.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Commits what is pending and closes the file. Safe to call twice. */
  close(): void {
    if (this.isClosed) return;
    if (this.db !== undefined) this.deps.commit();
    this.cancelCommit();
    this.isClosed = true;
    this.db?.close();
  }
}
