import { Database } from "bun:sqlite";
import { afterEach, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
// Only to check the packet size against the encoder MQTT.js uses (a dependency of mqtt).
import mqttPacket from "mqtt-packet";
import { createLogger, MemoryLogDestination, silentLogger } from "../../src/core/logger.ts";
import { publishPacketSize } from "../../src/mqtt/packet-size.ts";
import { MAX_SET_ASIDE } from "../../src/storage/outbox.ts";
import { SqliteOutbox } from "../../src/storage/sqlite-outbox.ts";
import { tempDir } from "../helpers/temp.ts";
import { broker, cleanUpAfterEach, configFile, hearth, peer, yaml } from "./helpers.ts";

cleanUpAfterEach();

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const dataDir = () => {
  const dir = tempDir("hearth-data-");
  made.push(dir);
  return dir;
};

/** Resolves once `peer` has received `n` messages on `topic`. */
async function received(p: Awaited<ReturnType<typeof peer>>, topic: string, n: number): Promise<string[]> {
  const got = () => p.received.filter((m) => m.topic === topic).map((m) => m.payload);
  while (got().length < n)
    await p
      .fresh(topic, () => true, 10_000)
      .catch((err) => {
        throw new Error(`${err.message}; all: ${got().join(",")}`);
      });
  return got();
}

test("events queued while the broker is away mid-stream are all delivered, in order, when it returns", async () => {
  const b = await broker({ persistent: true });
  // A user with a persistent session: the broker keeps its subscription and its messages across the restart.
  const user = await peer(b.url, ["hearth/test/events"], { clientId: "user-events", clean: false });
  const { service } = await hearth(configFile(yaml(b.url)), { dataDir: dataDir() });
  const bridge = service.bridge!;
  for (let i = 1; i <= 30; i++) bridge.publisher!.enqueue("hearth/test/events", String(i));
  await received(user, "hearth/test/events", 30);
  await b.kill("SIGTERM");
  for (let i = 31; i <= 100; i++) bridge.publisher!.enqueue("hearth/test/events", String(i));
  expect(bridge.outbox.size).toBeGreaterThan(0);
  await b.restart();
  await user.next("hearth/test/events", (p) => p === "100", 10_000);
  const all = user.received.filter((m) => m.topic === "hearth/test/events").map((m) => m.payload);
  // At least once, in order: a message in flight at the kill may come twice, never out of order.
  const unique = all.filter((v, i) => all.indexOf(v) === i);
  expect(unique).toEqual(Array.from({ length: 100 }, (_, i) => String(i + 1)));
  expect(all.map(Number)).toEqual([...all.map(Number)].sort((a, b) => a - b));
});

test("events committed to the outbox survive a SIGKILL and go out after the restart", async () => {
  const dir = dataDir();
  const writer = Bun.spawn([process.execPath, join(import.meta.dir, "fixtures/outbox-writer.ts"), join(dir, "hearth.db"), "25"], { stdout: "pipe", stderr: "inherit" });
  const reader = writer.stdout.getReader();
  let said = "";
  while (!said.includes("flushed")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the writer exited first: ${said}`);
    said += new TextDecoder().decode(value);
  }
  writer.kill("SIGKILL");
  expect(await writer.exited).not.toBe(0);

  const b = await broker();
  const user = await peer(b.url, ["hearth/test/events"]);
  await hearth(configFile(yaml(b.url)), { dataDir: dir });
  expect(await received(user, "hearth/test/events", 25)).toEqual(Array.from({ length: 25 }, (_, i) => String(i + 1)));
});

test("a full outbox drops the oldest first, counts them and says so", () => {
  const logs = new MemoryLogDestination();
  const outbox = new SqliteOutbox({ path: join(dataDir(), "hearth.db"), log: createLogger({ level: "debug", destination: logs }), maxMessages: 3 }).open();
  for (const n of ["1", "2", "3", "4", "5"]) outbox.push("t", n, 1);
  expect(outbox.peek(10).map((m) => m.payload)).toEqual(["3", "4", "5"]);
  expect(outbox.dropped).toBe(2);
  expect(logs.find("Outbox full: dropped the 1 oldest")).toHaveLength(2);
  outbox.close();
  outbox.close();
});

test("a full outbox by bytes drops the oldest first", () => {
  const outbox = new SqliteOutbox({ path: join(dataDir(), "hearth.db"), log: silentLogger(), maxBytes: 10 }).open();
  for (const n of ["aaaa", "bbbb", "cccc"]) outbox.push("t", n, 1);
  expect(outbox.peek(10).map((m) => m.payload)).toEqual(["bbbb", "cccc"]);
  outbox.close();
});

test("a pushed message is committed by the end of its turn of the loop, and before it is handed out", async () => {
  const path = join(dataDir(), "hearth.db");
  const outbox = new SqliteOutbox({ path, log: silentLogger() }).open();
  const onDisk = () => {
    const reader = new Database(path, { readonly: true });
    try {
      return reader
        .query<{ payload: string }, []>("SELECT payload FROM outbox ORDER BY id")
        .all()
        .map((r) => r.payload);
    } finally {
      reader.close();
    }
  };
  outbox.push("t", "a", 1);
  outbox.push("t", "b", 1);
  await Promise.resolve(); // the end of this turn: no timer involved
  expect(onDisk()).toEqual(["a", "b"]);
  outbox.push("t", "c", 1);
  expect(outbox.peek(10).map((m) => m.payload)).toEqual(["a", "b", "c"]);
  expect(onDisk()).toEqual(["a", "b", "c"]); // peek commits what it hands out
  outbox.remove(outbox.peek(1)[0]!.id);
  outbox.flush();
  expect(onDisk()).toEqual(["b", "c"]);
  outbox.close();
});

test("message ids are kept across a restart and never repeat, even with a new database", () => {
  const dir = dataDir();
  const first = new SqliteOutbox({ path: join(dir, "hearth.db"), log: silentLogger() }).open();
  const a = first.push("t", { n: 1 }, 1);
  expect(JSON.parse(a.payload)).toEqual({ n: 1, message_id: a.messageId });
  first.push("t", "plain", 1);
  first.close();
  const again = new SqliteOutbox({ path: join(dir, "hearth.db"), log: silentLogger() }).open();
  const kept = again.peek(10);
  expect(kept.map((m) => m.messageId)[0]).toBe(a.messageId);
  expect(kept[1]!.payload).toBe("plain");
  for (const m of kept) again.remove(m.id);
  const b = again.push("t", { n: 2 }, 1);
  again.close();
  const fresh = new SqliteOutbox({ path: join(dataDir(), "hearth.db"), log: silentLogger() }).open();
  const c = fresh.push("t", { n: 3 }, 1);
  fresh.close();
  expect(new Set([a.messageId, kept[1]!.messageId, b.messageId, c.messageId]).size).toBe(4);
});

test("a message's failed deliveries are counted on disk; one set aside is kept apart, and the set-aside ones are bounded", () => {
  const path = join(dataDir(), "hearth.db");
  const outbox = new SqliteOutbox({ path, log: silentLogger() }).open();
  const m = outbox.push("t", "poison", 1);
  outbox.push("t", "next", 1);
  expect(outbox.failed(m.id)).toBe(1);
  expect(outbox.failed(m.id)).toBe(2);
  outbox.close();
  const again = new SqliteOutbox({ path, log: silentLogger() }).open();
  expect(again.peek(1)[0]).toMatchObject({ payload: "poison", attempts: 2 });
  again.setAside(m.id, "too large");
  expect(again.peek(10).map((x) => x.payload)).toEqual(["next"]);
  expect(again.counts()).toEqual({ queued: 1, dropped: 0, set_aside: 1 });
  for (let i = 0; i < MAX_SET_ASIDE + 5; i++) again.setAside(again.push("t", `more ${i}`, 1).id, "refused");
  expect(again.counts()).toEqual({ queued: 1, dropped: 6, set_aside: MAX_SET_ASIDE });
  again.close();
  const db = new Database(path, { readonly: true });
  const oldest = db.query<{ payload: string; reason: string }, []>("SELECT payload, reason FROM outbox_set_aside ORDER BY id LIMIT 1").get();
  db.close();
  expect(oldest).toEqual({ payload: "more 5", reason: "refused" });
  const reopened = new SqliteOutbox({ path, log: silentLogger() }).open();
  expect(reopened.counts().set_aside).toBe(MAX_SET_ASIDE);
  reopened.close();
});

test("a database from before message ids is taken over: its messages get an id, kept from then on", () => {
  const path = join(dataDir(), "hearth.db");
  const old = new Database(path, { create: true });
  old.exec("CREATE TABLE outbox (id INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload TEXT NOT NULL, qos INTEGER NOT NULL)");
  old.exec(`INSERT INTO outbox VALUES (7, 't', '{"event":"old"}', 1)`);
  old.close();
  const outbox = new SqliteOutbox({ path, log: silentLogger() }).open();
  const [m] = outbox.peek(10);
  expect(m).toMatchObject({ id: 7, payload: '{"event":"old"}', attempts: 0 });
  expect(m!.messageId).toMatch(/^[0-9a-f]{16}-7$/);
  outbox.close();
  const again = new SqliteOutbox({ path, log: silentLogger() }).open();
  expect(again.peek(1)[0]!.messageId).toBe(m!.messageId);
  again.close();
});

test("the size of a publish packet is what MQTT.js puts on the wire", () => {
  for (const protocolVersion of [4, 5] as const) {
    for (const [topic, payload] of [
      ["a/b", ""],
      ["hearth/test/board/response", "x".repeat(200)],
      ["t/ü", "é".repeat(20_000)],
    ] as const) {
      const userProperties = protocolVersion === 5 ? { message_id: "3f9a0c7e12b44d10-17" } : undefined;
      const wire = mqttPacket.generate(
        { cmd: "publish", topic, payload, qos: 1, messageId: 1, retain: false, dup: false, ...(userProperties ? { properties: { userProperties } } : {}) },
        { protocolVersion },
      );
      expect(publishPacketSize({ topic, payload, qos: 1, protocolVersion, userProperties })).toBe(wire.length);
    }
  }
});
