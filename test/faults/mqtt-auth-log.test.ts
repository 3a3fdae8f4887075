import { afterEach, expect, test } from "bun:test";
import { createLogger, MemoryLogDestination } from "../../src/core/logger.ts";
import { MqttConnection } from "../../src/mqtt/client.ts";
import { until } from "../helpers/until.ts";
import { startBroker, type TestBroker } from "../mqtt/broker.ts";

// Issue 12: a wrong MQTT password logged each failed attempt twice at warn; the reason is meant to be
// shown once per outage at warn, and every retry after that at debug.

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function broker(): Promise<TestBroker> {
  const b = await startBroker({ users: { hearth: "right" } });
  cleanups.push(() => b.stop());
  return b;
}

function connection(url: string, password: string) {
  const logs = new MemoryLogDestination();
  const c = new MqttConnection({
    log: createLogger({ level: "debug", destination: logs }),
    options: { urls: [url], clientId: `hearth_auth_${process.pid}`, username: "hearth", password, protocolVersion: 4, keepalive: 10, stateTopic: "hearth/auth/bridge/state" },
    backoff: { initialMs: 20, maxMs: 40 },
  });
  cleanups.push(() => c.stop());
  return { connection: c, logs };
}

const failures = (logs: MemoryLogDestination, level: string) => logs.lines.filter((l) => l.level === level && /MQTT connection/.test(String(l.msg)));

test("a wrong password is logged once at warn, with the broker's reason, however many attempts fail", async () => {
  const b = await broker();
  const { connection: c, logs } = connection(b.url, "wrong");
  await c.start();
  await until(() => failures(logs, "debug").length >= 5, "five failed attempts");
  const warned = failures(logs, "warn");
  expect(warned.map((l) => l.msg)).toEqual([`MQTT connection to ${b.url} failed: Connection refused: Not authorized`]);
  expect(JSON.stringify(logs.lines)).not.toContain("wrong"); // the password itself is never logged
});

test("each outage is told once: a broker down at start, then lost after a connect", async () => {
  const b = await broker();
  await b.kill();
  const { connection: c, logs } = connection(b.url, "right");
  await c.start();
  await until(() => failures(logs, "debug").length >= 3, "three failed attempts");
  expect(failures(logs, "warn")).toHaveLength(1);
  const connected = new Promise<void>((resolve) => c.onConnect(resolve));
  await b.restart();
  await connected;
  const before = failures(logs, "debug").length;
  await b.kill();
  await until(() => failures(logs, "debug").length >= before + 3, "three more failed attempts");
  // The second outage: it is said once that the broker was lost and once why it cannot be reached.
  expect(logs.find("Lost the MQTT broker")).toHaveLength(1);
  expect(failures(logs, "warn")).toHaveLength(2);
});

test("a connection that breaks is told in one line, with what broke it", async () => {
  const b = await broker();
  const { connection: c, logs } = connection(b.url, "right");
  const connects: Array<() => void> = [];
  c.onConnect(() => connects.shift()?.());
  const connected = () => new Promise<void>((resolve) => connects.push(resolve));
  const first = connected();
  await c.start();
  await first;
  const again = connected();
  // The socket fails under hearth, as when the broker host resets it.
  const reset = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
  (c as unknown as { client: { stream: { destroy(err: Error): void } } }).client.stream.destroy(reset);
  await again;
  expect(logs.lines.filter((l) => l.level === "warn").map((l) => l.msg)).toEqual([`Lost the MQTT broker ${b.url} (read ECONNRESET); reconnecting`]);
});
