import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Opens hearth's SQLite file in WAL mode with `synchronous=NORMAL`: a commit costs one sequential WAL
 * append, not a full fsync of the database, which is what an SD card wants; a crash loses at most the
 * last commit, never the file.
 */
export function openDatabase(path: string): Database {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { create: true, strict: true });
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = NORMAL");
  db.exec("PRAGMA busy_timeout = 2000");
  return db;
}
