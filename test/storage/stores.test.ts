import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ManualClock } from "../../src/core/clock.ts";
import { createLogger, MemoryLogDestination, silentLogger } from "../../src/core/logger.ts";
import { isStorageError } from "../../src/storage/errors.ts";
import { SqliteOutbox } from "../../src/storage/sqlite-outbox.ts";
import { StateStore } from "../../src/storage/state-store.ts";
import { tempDir } from "../helpers/temp.ts";

const dataDir = () => tempDir("hearth-stores-");

function rows(path: string, sql: string): unknown[] {
  const reader = new Database(path, { readonly: true });
  try {
    return reader.query(sql).all();
  } finally {
    reader.close();
  }
}

test("the stores touch their file only in open(), and a second open() reads nothing again", () => {
  const path = join(dataDir(), "sub", "hearth.db");
  const logs = new MemoryLogDestination();
  const outbox = new SqliteOutbox({ path, log: createLogger({ level: "debug", destination: logs }) });
  const states = new StateStore({ path });
  expect(existsSync(path)).toBe(false);
  outbox.open().push("t", "kept", 1);
  outbox.close();
  states.open().record("board", { relay1: "ON" });
  states.close();
  expect(existsSync(path)).toBe(true);

  const again = new SqliteOutbox({ path, log: createLogger({ level: "debug", destination: logs }) });
  expect(again.open()).toBe(again.open());
  expect(again.peek(10).map((m) => m.payload)).toEqual(["kept"]);
  expect(logs.find("Outbox holds 1 messages from before")).toHaveLength(1);
  again.close();
  const restored = new StateStore({ path }).open().open();
  expect(restored.restored("board")).toEqual({ relay1: "ON" });
  restored.close();
});

test("a store used before open() says so with STORAGE_NOT_OPEN, and close() without open() is harmless", () => {
  const path = join(dataDir(), "hearth.db");
  const outbox = new SqliteOutbox({ path, log: silentLogger() });
  const states = new StateStore({ path });
  const thrown = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      return err;
    }
  };
  expect(
    isStorageError(
      thrown(() => outbox.push("t", "x", 1)),
      "STORAGE_NOT_OPEN",
    ),
  ).toBe(true);
  expect(
    isStorageError(
      thrown(() => states.record("board", {})),
      "STORAGE_NOT_OPEN",
    ),
  ).toBe(true);
  expect(
    isStorageError(
      thrown(() => states.restored("board")),
      "STORAGE_NOT_OPEN",
    ),
  ).toBe(true);
  outbox.close();
  states.close();
  expect(existsSync(path)).toBe(false);
});

test("the outbox commits the removals of delivered messages within removeDelayMs, on the clock it is given", () => {
  const path = join(dataDir(), "hearth.db");
  const clock = new ManualClock();
  const outbox = new SqliteOutbox({ path, log: silentLogger(), clock, removeDelayMs: 100 }).open();
  outbox.push("t", "a", 1);
  outbox.push("t", "b", 1);
  const [first] = outbox.peek(1); // commits both before handing one out
  outbox.remove(first!.id);
  const onDisk = () => rows(path, "SELECT payload FROM outbox ORDER BY id").map((r) => (r as { payload: string }).payload);
  expect(onDisk()).toEqual(["a", "b"]);
  clock.advance(99);
  expect(onDisk()).toEqual(["a", "b"]);
  clock.advance(1);
  expect(onDisk()).toEqual(["b"]);
  expect(clock.pending).toBe(0);
  outbox.close();
});

test("the state store commits the latest state of each device within flushMs, on the clock it is given", () => {
  const path = join(dataDir(), "hearth.db");
  const clock = new ManualClock();
  const states = new StateStore({ path, clock, flushMs: 30_000 }).open();
  states.record("board", { relay1: "OFF" });
  states.record("board", { relay1: "ON" });
  const onDisk = () => rows(path, "SELECT device, payload FROM device_state");
  expect(onDisk()).toEqual([]);
  clock.advance(29_999);
  expect(onDisk()).toEqual([]);
  clock.advance(1);
  expect(onDisk()).toEqual([{ device: "board", payload: '{"relay1":"ON"}' }]);
  expect(clock.pending).toBe(0);
  states.close();
});
