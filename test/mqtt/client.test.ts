import { afterEach, expect, test } from "bun:test";
import { createLogger, MemoryLogDestination } from "../../src/core/logger.ts";
import { MqttConnection } from "../../src/mqtt/client.ts";
import { Peer, startBroker, type TestBroker } from "./broker.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function broker(): Promise<TestBroker> {
  const b = await startBroker();
  cleanups.push(() => b.stop());
  return b;
}

function connection(url: string) {
  const logs = new MemoryLogDestination();
  const c = new MqttConnection({
    log: createLogger({ level: "debug", destination: logs }),
    options: { url, clientId: `hearth_test_${Math.random().toString(36).slice(2)}`, protocolVersion: 4, keepalive: 10, stateTopic: "hearth/t/bridge/state" },
    backoff: { initialMs: 50, maxMs: 400 },
  });
  cleanups.push(() => c.stop());
  return { connection: c, logs };
}

async function peer(url: string, topics: string[]): Promise<Peer> {
  const p = await Peer.connect(url, topics);
  cleanups.push(() => p.close());
  return p;
}

test("the bridge state is online once connected and offline after a clean stop", async () => {
  const b = await broker();
  const watcher = await peer(b.url, ["hearth/t/bridge/state"]);
  const { connection: c } = connection(b.url);
  await c.start();
  await watcher.next("hearth/t/bridge/state", (p) => p === "online");
  const offline = watcher.fresh("hearth/t/bridge/state", (p) => p === "offline");
  await c.stop();
  await offline;
  await c.stop(); // twice is fine
});

test("the will marks the bridge offline when the connection dies without a goodbye", async () => {
  const b = await broker();
  const watcher = await peer(b.url, ["hearth/t/bridge/state"]);
  const { connection: c } = connection(b.url);
  await c.start();
  await watcher.next("hearth/t/bridge/state", (p) => p === "online");
  const offline = watcher.fresh("hearth/t/bridge/state", (p) => p === "offline");
  // What a SIGKILL does to the socket: it is gone, no DISCONNECT sent.
  (c as unknown as { client: { stream: { destroy(): void } } }).client.stream.destroy();
  await offline;
});

test("a broker that is down at start is not fatal: hearth connects when it appears", async () => {
  const b = await broker();
  await b.kill();
  const { connection: c, logs } = connection(b.url);
  await c.start(); // resolves although nothing listens
  expect(c.connected).toBe(false);
  const connected = new Promise<void>((resolve) => c.onConnect(resolve));
  await b.restart();
  await connected;
  expect(c.connected).toBe(true);
  expect(logs.find("MQTT connection to").length).toBeGreaterThanOrEqual(1);
});

test("every reconnect subscribes again and runs the republish handlers again", async () => {
  const b = await broker();
  const { connection: c } = connection(b.url);
  c.subscribe(["hearth/t/cmd"]);
  let connects = 0;
  const waiting = new Map<number, () => void>();
  const connect = (n: number) => new Promise<void>((resolve) => (connects >= n ? resolve() : waiting.set(n, resolve)));
  c.onConnect(async () => {
    connects++;
    await c.publish("hearth/t/retained", `copy ${connects}`, { retain: true, qos: 1 });
    waiting.get(connects)?.();
  });
  const commands: string[] = [];
  let commandArrived: () => void = () => {};
  const arrived = new Promise<void>((resolve) => (commandArrived = resolve));
  c.onMessage((topic, payload) => {
    commands.push(`${topic} ${payload}`);
    commandArrived();
  });
  await c.start();
  for (const n of [1, 2]) {
    await connect(n);
    await b.kill(); // persistence is off: the broker forgets every retained message and subscription
    await b.restart();
  }
  await connect(3);
  const watcher = await peer(b.url, ["hearth/t/retained"]);
  expect((await watcher.next("hearth/t/retained")).payload).toBe("copy 3");
  await watcher.publish("hearth/t/cmd", "hello");
  await arrived;
  expect(commands).toEqual(["hearth/t/cmd hello"]);
});

test("QoS 1 publishes awaiting their acks all fail when the connection drops, and pile up no listeners", async () => {
  const b = await broker();
  const { connection: c } = connection(b.url);
  const connected = new Promise<void>((resolve) => c.onConnect(resolve));
  await c.start();
  await connected;
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on("warning", onWarning);
  try {
    // Thirty events in flight at once, as when the outbox drains after an outage.
    const outcomes = Array.from({ length: 30 }, (_, i) =>
      c.publish(`hearth/t/event${i}`, "pressed", { qos: 1 }).then(
        () => "acknowledged",
        (err: { code?: string }) => err.code,
      ),
    );
    const client = (c as unknown as { client: { listenerCount(e: string): number; stream: { destroy(): void } } }).client;
    expect(client.listenerCount("close")).toBeLessThanOrEqual(2);
    client.stream.destroy(); // the connection dies before any acknowledgement comes back
    expect(new Set(await Promise.all(outcomes))).toEqual(new Set(["MQTT_ACK_LOST"]));
    await Bun.sleep(10); // warnings are emitted on a later tick
    expect(warnings.map((w) => w.name)).not.toContain("MaxListenersExceededWarning");
  } finally {
    process.off("warning", onWarning);
  }
});
