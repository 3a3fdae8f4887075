import { afterEach, expect, test } from "bun:test";
import type { MqttClient } from "mqtt";
import { ManualClock, type TimerHandle } from "../../src/core/clock.ts";
import { createLogger, MemoryLogDestination } from "../../src/core/logger.ts";
import { connectByOptions } from "../../src/mqtt/broker-url.ts";
import { type MqttClientFactory, MqttConnection } from "../../src/mqtt/client.ts";
import { until } from "../helpers/until.ts";
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

function connection(url: string | string[], more: { clock?: ManualClock; factory?: MqttClientFactory } = {}) {
  const logs = new MemoryLogDestination();
  const c = new MqttConnection({
    log: createLogger({ level: "debug", destination: logs }),
    options: { urls: typeof url === "string" ? [url] : url, clientId: `hearth_test_${Math.random().toString(36).slice(2)}`, protocolVersion: 4, keepalive: 10, stateTopic: "hearth/t/bridge/state" },
    backoff: { initialMs: 50, maxMs: 400 },
    ...more,
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
  // It says it cannot connect (a first attempt may still be on its way when start resolves: wait for it).
  for (const deadline = Date.now() + 10_000; logs.find("MQTT connection to").length === 0 && Date.now() < deadline; ) await Bun.sleep(10);
  expect(logs.find("MQTT connection to").length).toBeGreaterThanOrEqual(1);
  const connected = new Promise<void>((resolve) => c.onConnect(resolve));
  await b.restart();
  await connected;
  expect(c.connected).toBe(true);
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

test("QoS 1 publishes in flight when the broker goes leave nothing behind in MQTT.js, however many reconnects", async () => {
  const b = await broker();
  const clients: MqttClient[] = [];
  const { connection: c } = connection(b.url, {
    factory: (url, options) => {
      const client = connectByOptions(url, options);
      clients.push(client);
      return client;
    },
  });
  let connects = 0;
  c.onConnect(() => {
    connects++;
  });
  await c.start();
  await until(() => connects === 1, "connected");
  for (let restart = 1; restart <= 3; restart++) {
    // Thirty replies awaiting their acks when the broker goes (each holds its topic and payload until failed).
    const outcomes = Array.from({ length: 30 }, (_, i) => c.publish(`hearth/t/reply${i}`, "x".repeat(1000), { qos: 1 }).catch(() => "lost"));
    await b.kill("SIGTERM");
    await Promise.all(outcomes);
    await b.restart();
    await until(() => connects === restart + 1, `connected again after restart ${restart}`);
  }
  // What MQTT.js still holds to call back: nothing, in the client in use and in the ones dropped.
  const held = clients.map((client) => Object.keys(client.outgoing).length);
  expect(held.reduce((a, n) => a + n, 0)).toBe(0);
});

/** A ManualClock that keeps the delay of every timer set on it. */
class RecordingClock extends ManualClock {
  readonly delays: number[] = [];

  override setTimeout(fn: () => void, ms: number): TimerHandle {
    this.delays.push(ms);
    return super.setTimeout(fn, ms);
  }
}

test("reconnect delays run on the injected clock: they double up to the cap, and a connect starts them again", async () => {
  const b = await broker();
  await b.kill();
  const clock = new RecordingClock();
  const { connection: c } = connection(b.url, { clock });
  await c.start();
  // Each refused attempt sets the next delay; nothing is tried again until the clock reaches it.
  for (let attempt = 1; attempt <= 5; attempt++) {
    await until(() => clock.delays.length === attempt && clock.pending === 1, `retry timer ${attempt}`);
    const delay = clock.delays.at(-1)!;
    clock.advance(delay - 1);
    expect(clock.delays.length).toBe(attempt);
    clock.advance(1);
  }
  await until(() => clock.delays.length === 6, "retry timer 6");
  // 50, 100, 200, 400, 400, 400 with ±20% jitter, never past the cap of 400.
  const expected = [50, 100, 200, 400, 400, 400];
  clock.delays.forEach((d, i) => {
    expect(d).toBeGreaterThanOrEqual(expected[i]! * 0.8);
    expect(d).toBeLessThanOrEqual(Math.min(400, expected[i]! * 1.2));
  });
  await b.restart();
  const connected = new Promise<void>((resolve) => c.onConnect(resolve));
  clock.advance(clock.delays.at(-1)!);
  await connected;
  await b.kill();
  await until(() => clock.delays.length === 7, "the retry timer after a lost connection");
  expect(clock.delays[6]).toBeLessThanOrEqual(50 * 1.2);
});

/** MQTT.js's factory, counting the clients it makes. */
function countingFactory(): { factory: MqttClientFactory; made: () => number } {
  let made = 0;
  const factory: MqttClientFactory = (url, options) => {
    made++;
    return connectByOptions(url, options);
  };
  return { factory, made: () => made };
}

test("start() called twice at once makes one client", async () => {
  const b = await broker();
  const { factory, made } = countingFactory();
  const { connection: c } = connection(b.url, { factory });
  const connected = new Promise<void>((resolve) => c.onConnect(resolve));
  const first = c.start();
  const second = c.start();
  await Promise.all([first, second]);
  await c.start();
  await connected;
  expect(made()).toBe(1);
  expect(second).toBe(first);
});

test("stop() while start() is still under way leaves no client behind", async () => {
  const b = await broker();
  const { factory, made } = countingFactory();
  const { connection: c } = connection(b.url, { factory });
  const starting = c.start();
  await c.stop();
  await starting;
  expect(made()).toBe(0);
  expect(c.connected).toBe(false);
});

// Two brokers that know nothing of each other stand for a cluster's nodes here: what is checked is which
// node hearth is on and what it does there; a real cluster carrying messages between nodes is in
// test/mqtt/failover.test.ts.
test("given a cluster's nodes, a node that is down at start is skipped: hearth connects to the next and says which", async () => {
  const [a, b] = [await broker(), await broker()];
  await a.kill();
  const watcher = await peer(b.url, ["hearth/t/bridge/state"]);
  const { connection: c, logs } = connection([a.url, b.url]);
  expect(c.node).toEqual({ url: a.url, index: 1, count: 2 });
  const connected = new Promise<void>((resolve) => c.onConnect(resolve));
  await c.start();
  await connected;
  expect(c.node).toEqual({ url: b.url, index: 2, count: 2 });
  await watcher.next("hearth/t/bridge/state", (p) => p === "online");
  expect(logs.find(`Connected to MQTT broker ${b.url} (node 2 of 2)`)).toHaveLength(1);
  expect(logs.find(`MQTT connection to ${a.url} failed`)).toHaveLength(1);
});

test("a lost node sends hearth to the next one, subscribed again, and back round the list when that one goes", async () => {
  const [a, b] = [await broker(), await broker()];
  const { connection: c, logs } = connection([a.url, b.url]);
  c.subscribe(["hearth/t/cmd"]);
  const commands: string[] = [];
  c.onMessage((topic, payload) => commands.push(`${topic} ${payload}`));
  let connects = 0;
  c.onConnect(() => {
    connects++;
  });
  await c.start();
  await until(() => connects === 1 && c.connected, "connected to the first node");
  expect(c.node.index).toBe(1);
  await a.kill();
  await until(() => connects === 2 && c.connected, "connected to the second node");
  expect(c.node).toEqual({ url: b.url, index: 2, count: 2 });
  expect(logs.find(`Lost the MQTT broker ${a.url}; going to the next node, ${b.url}`)).toHaveLength(1);
  // Subscribed on the new node: a command sent there arrives.
  const onB = await peer(b.url, []);
  await onB.publish("hearth/t/cmd", "via b");
  await until(() => commands.includes("hearth/t/cmd via b"), "the command sent through the second node");
  // The first node back, the second gone: round the list to the first.
  await a.restart();
  await b.kill();
  await until(() => connects === 3 && c.connected, "back on the first node");
  expect(c.node.index).toBe(1);
  const onA = await peer(a.url, ["hearth/t/bridge/state"]);
  await onA.next("hearth/t/bridge/state", (p) => p === "online");
});

test("with a cluster's nodes, every failed attempt goes to the next node, with the same backoff and the node's own client id", async () => {
  const [a, b] = [await broker(), await broker()];
  await a.kill();
  await b.kill();
  const clock = new RecordingClock();
  const tried: string[] = [];
  const ids: string[] = [];
  const factory: MqttClientFactory = (url, options) => {
    tried.push(url);
    ids.push(String(options.clientId));
    return connectByOptions(url, options);
  };
  const { connection: c } = connection([a.url, b.url], { clock, factory });
  await c.start();
  for (let attempt = 1; attempt <= 4; attempt++) {
    await until(() => clock.delays.length === attempt && clock.pending === 1, `retry timer ${attempt}`);
    clock.advance(clock.delays.at(-1)!);
  }
  await until(() => tried.length === 5, "the fifth attempt");
  expect(tried).toEqual([a.url, b.url, a.url, b.url, a.url]);
  // The configured id on the first node, `_2` after it on the second: a cluster that still holds the
  // session a client id left on a dead node does not refuse the same client on the other.
  const id = ids[0]!;
  expect(id).toStartWith("hearth_test_");
  expect(ids).toEqual([id, `${id}_2`, id, `${id}_2`, id]);
  // 50, 100, 200, 400 with ±20% jitter: the list does not reset the backoff.
  expect(clock.delays[3]).toBeGreaterThanOrEqual(400 * 0.8);
});
