import { expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, MemoryLogDestination, silentLogger } from "../../src/core/logger.ts";
import { SqliteOutbox } from "../../src/storage/outbox.ts";
import { broker, cleanUpAfterEach, configFile, hearth, peer, yaml } from "./helpers.ts";

cleanUpAfterEach();

const dataDir = () => mkdtempSync(join(tmpdir(), "hearth-data-"));

/** Resolves once `peer` has received `n` messages on `topic`. */
async function received(p: Awaited<ReturnType<typeof peer>>, topic: string, n: number): Promise<string[]> {
  const got = () => p.received.filter((m) => m.topic === topic).map((m) => m.payload);
  while (got().length < n) await p.fresh(topic, () => true, 10_000).catch((err) => { throw new Error(`${err.message}; all: ${got().join(",")}`); });
  return got();
}

test("events queued while the broker is away mid-stream are all delivered, in order, when it returns", async () => {
  const b = await broker({ persistent: true });
  // A user with a persistent session: the broker keeps its subscription and its messages across the restart.
  const user = await peer(b.url, ["hearth/test/events"], { clientId: "user-events", clean: false });
  const { service } = await hearth(configFile(yaml(b.url)), { dataDir: dataDir() });
  const bridge = service.bridge!;
  for (let i = 1; i <= 30; i++) bridge.enqueue("hearth/test/events", String(i));
  await received(user, "hearth/test/events", 30);
  await b.kill("SIGTERM");
  for (let i = 31; i <= 100; i++) bridge.enqueue("hearth/test/events", String(i));
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
  const outbox = new SqliteOutbox({ path: join(dataDir(), "hearth.db"), log: createLogger({ level: "debug", destination: logs }), maxMessages: 3 });
  for (const n of ["1", "2", "3", "4", "5"]) outbox.push("t", n, 1);
  expect(outbox.peek(10).map((m) => m.payload)).toEqual(["3", "4", "5"]);
  expect(outbox.dropped).toBe(2);
  expect(logs.find("Outbox full: dropped the 1 oldest")).toHaveLength(2);
  outbox.close();
  outbox.close();
});

test("a full outbox by bytes drops the oldest first", () => {
  const outbox = new SqliteOutbox({ path: join(dataDir(), "hearth.db"), log: silentLogger(), maxBytes: 10 });
  for (const n of ["aaaa", "bbbb", "cccc"]) outbox.push("t", n, 1);
  expect(outbox.peek(10).map((m) => m.payload)).toEqual(["bbbb", "cccc"]);
  outbox.close();
});

test("a message delivered before its batch is due never reaches the disk", () => {
  const path = join(dataDir(), "hearth.db");
  const outbox = new SqliteOutbox({ path, log: silentLogger() });
  outbox.push("t", "quick", 1);
  outbox.remove(outbox.peek(1)[0]!.id);
  outbox.push("t", "kept", 1);
  outbox.close();
  expect(outbox.bytesWritten).toBe("kept".length + 1);
  const again = new SqliteOutbox({ path, log: silentLogger() });
  expect(again.peek(10).map((m) => m.payload)).toEqual(["kept"]);
  again.close();
});
