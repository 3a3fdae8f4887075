import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Opens hearth's SQLite file in WAL mode with `synchronous=NORMAL`: a commit is one sequential append
 * to the -wal file with no fsync (the WAL is synced only when it is checkpointed into the database),
 * which is what an SD card wants. What that guarantees: once a commit returns, it survives the end of
 * the hearth process however it comes (SIGKILL, the OOM killer, a crash), because the kernel holds the
 * written pages; a power cut or a kernel crash can take back the commits the kernel had not yet
 * written to the card (usually the last few seconds, up to ~30 s with Linux's default writeback),
 * though never the file's consistency.
 */
export function openDatabase(path: string): Database {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { create: true, strict: true });
  // A commit appends every page it changed to the WAL, whole, and hearth's commits change a row or two
  // (a queued message, its removal): 1 KiB pages write less than half the bytes of the default 4 KiB
  // (measured: 38 vs 86 MiB an hour for six messages a second). Only a new file takes it; an existing
  // one keeps its page size. The checkpoint threshold keeps the WAL at about 4 MiB, as SQLite's default does with 4 KiB pages.
  db.exec("PRAGMA page_size = 1024");
  db.exec("PRAGMA journal_mode = WAL");
  const { page_size } = db.query<{ page_size: number }, []>("PRAGMA page_size").get()!;
  db.exec(`PRAGMA wal_autocheckpoint = ${Math.round((4 << 20) / page_size)}`);
  db.exec("PRAGMA synchronous = NORMAL");
  db.exec("PRAGMA busy_timeout = 2000");
  return db;
}
