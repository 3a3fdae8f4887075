/**
 * `npm run bench -- mqtt`: a hearth-io simulator streaming telemetry lines as fast as its pty carries
 * them, through hearth (line driver → states → MQTT bridge), to a subscriber on a real Mosquitto:
 * device lines/s carried end to end, and latency p50/p99 from the device's write on the pty to the
 * subscriber's receipt of the state that carries it; against MQTT.js publishing the same payloads
 * straight to the same broker and subscriber (the limit), in the same run. And the command round trip:
 * publish `set` → the command on the pty → the reply → the state published back.
 *
 * And the failover between a cluster's nodes: hearth given two brokers' URLs, the one it is on killed
 * (SIGKILL, as a node crashes), timed to hearth's first publish seen by a subscriber on the other; the
 * limit is the configured backoff's first delay, which hearth waits before it tries the next node.
 *
 * Every telemetry line carries a sequence number in `up=`; the subscriber reads it back from `uptime`.
 * Lines that arrive in one read are published as one state (the bridge batches per tick), so the
 * subscriber can see fewer messages than the device wrote: the throughput counts device lines whose
 * value reached the subscriber, and the published message count is reported beside it.
 */
import mqtt from "mqtt";
import { builtInCatalogue } from "../../src/catalogue.ts";
import type { DeviceConfig } from "../../src/config/schema.ts";
import { MqttSchema } from "../../src/config/schema.ts";
import { Hub } from "../../src/core/hub.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { ConfiguredPorts, serialTransports } from "../../src/engine/configured-ports.ts";
import { DeviceManager } from "../../src/engine/manager.ts";
import { Bridge } from "../../src/mqtt/bridge.ts";
import { DEFAULT_BACKOFF } from "../../src/mqtt/client.ts";
import { startBroker } from "../mqtt/broker.ts";
import { type BenchResult, costRatio, roundRatio } from "./result.ts";

const MESSAGES = Number(process.env.HEARTH_BENCH_MESSAGES ?? 5000);
const SAMPLES = 500;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The telemetry line the simulated board writes for sequence number `n`, and the state hearth publishes for it. */
const lineOf = (n: number) => `T temp=21.5 hum=40.0 btn=0 r1=0 r2=0 led=0 up=${n}\r\n`;
const payloadOf = (n: number) => JSON.stringify({ temperature: 21.5, humidity: 40, button: "OFF", relay1: "OFF", relay2: "OFF", led: { state: "OFF", brightness: 0 }, uptime: n, restart: null });

interface Stream {
  rate: number;
  published: number;
  latencies: number[];
}

export async function run(): Promise<BenchResult[]> {
  return [...(await telemetry()), ...(await failover())];
}

async function telemetry(): Promise<BenchResult[]> {
  const broker = await startBroker();
  const log = silentLogger();
  const hub = new Hub({ log, stageTimeouts: { shutdownJobs: 2, cancel: 2, tracked: 2, finalWrite: 2, close: 2 } });
  const ports = new ConfiguredPorts();
  const devices = new DeviceManager({ hub, log, nodeId: "bench", catalogue: builtInCatalogue(), transports: serialTransports({ hub, log }), ports });
  const bridge = new Bridge({ hub, log, nodeId: "bench", devices: devices.view(), mqtt: MqttSchema.parse({ url: broker.url, base_topic: "hearth/bench", discovery: { enabled: false } }) });
  const subscriber = await mqtt.connectAsync(broker.url);
  const direct = await mqtt.connectAsync(broker.url);
  try {
    await devices.setup([{ id: "board", model: "hearth-io", port: "sim", poll_interval: 3600, options: { interval: 3_600_000 } } as DeviceConfig]);
    await hub.start();
    await bridge.start();
    await new Promise<void>((resolve) => bridge.connection!.onConnect(resolve));
    while (!devices.device("board")?.available) await Bun.sleep(10);
    const pty = ports.simulators.get("board")!.pty;
    await subscriber.subscribeAsync(["hearth/bench/board", "direct/board"], { qos: 0 });
    await Bun.sleep(200); // the first poll's state and the retained messages are through

    // Every message the subscriber gets: the sequence number it carries, when.
    let arrived: (n: number, at: number) => void = () => {};
    subscriber.on("message", (_topic, payload) => {
      const at = performance.now();
      const n = (JSON.parse(payload.toString()) as { uptime?: number }).uptime;
      if (typeof n === "number") arrived(n, at);
    });
    const viaDevice = (n: number) => pty.write(lineOf(n));
    const viaDirect = (n: number) => {
      direct.publish("direct/board", payloadOf(n), { qos: 0, retain: true });
      return Promise.resolve();
    };

    /**
     * `MESSAGES` values sent back to back (each send awaited: the pty's write, or MQTT.js's, as fast as it
     * takes them), timed from the first send to the receipt of the last value; each received value's
     * latency from its send.
     */
    const stream = async (send: (n: number) => Promise<void>, base: number): Promise<Stream> => {
      const sentAt = new Float64Array(MESSAGES + 1);
      const latencies: number[] = [];
      let published = 0;
      const done = new Promise<number>((resolve) => {
        arrived = (n, at) => {
          const i = n - base;
          if (i < 1 || i > MESSAGES) return;
          published++;
          latencies.push(at - sentAt[i]!);
          if (i === MESSAGES) resolve(at);
        };
      });
      const start = performance.now();
      for (let i = 1; i <= MESSAGES; i++) {
        sentAt[i] = performance.now();
        await send(base + i);
        if (i % 50 === 0) await turn(); // let the sockets drain, as a live loop would
      }
      const end = await done;
      return { rate: MESSAGES / ((end - start) / 1000), published, latencies: latencies.sort((a, b) => a - b) };
    };
    /** One value at a time, each awaited at the subscriber: latency with no queue in front of it. */
    const latency = async (send: (n: number) => Promise<void>, base: number) => {
      const times: number[] = [];
      for (let i = 1; i <= SAMPLES; i++) {
        const got = new Promise<number>((resolve) => {
          arrived = (n, at) => n === base + i && resolve(at);
        });
        const t = performance.now();
        await send(base + i);
        times.push((await got) - t);
      }
      return times.sort((a, b) => a - b);
    };

    await stream(viaDevice, 10_000_000); // warm-up: JIT, reader Workers, socket buffers
    await stream(viaDirect, 20_000_000);
    const hearth = await stream(viaDevice, 1_000_000);
    const limit = await stream(viaDirect, 2_000_000);
    const hearthLatency = await latency(viaDevice, 3_000_000);
    const directLatency = await latency(viaDirect, 4_000_000);

    // Command round trip over the real pty.
    arrived = () => {};
    const rtt: number[] = [];
    const states = new Map<string, (s: Record<string, unknown>) => void>();
    subscriber.on("message", (topic, payload) => {
      if (topic !== "hearth/bench/board") return;
      const s = JSON.parse(payload.toString()) as Record<string, unknown>;
      for (const [want, resolve] of states) if (s.relay1 === want) resolve(s);
    });
    for (let i = 0; i < 100; i++) {
      const want = i % 2 === 0 ? "ON" : "OFF";
      const got = new Promise((resolve) => states.set(want, resolve));
      const t = performance.now();
      await direct.publishAsync("hearth/bench/board/set/relay1", want);
      await got;
      states.delete(want);
      rtt.push(performance.now() - t);
    }
    rtt.sort((a, b) => a - b);

    const p99Hearth = percentile(hearthLatency, 99);
    const p99Direct = percentile(directLatency, 99);
    return [
      {
        name: "telemetry_throughput",
        value: Math.round(hearth.rate),
        unit: "messages/s",
        limit: { name: "MQTT.js publishing straight to Mosquitto", value: Math.round(limit.rate) },
        ratio: roundRatio(costRatio(hearth.rate, limit.rate, "rate")),
        goal: 2,
      },
      { name: "telemetry_published", value: hearth.published, unit: `messages for ${MESSAGES} device lines`, limit: { name: "MQTT.js direct", value: limit.published } },
      {
        name: "telemetry_streaming_latency_p50",
        value: round(percentile(hearth.latencies, 50)),
        unit: "ms",
        limit: { name: "MQTT.js direct, streaming", value: round(percentile(limit.latencies, 50)) },
      },
      {
        name: "telemetry_streaming_latency_p99",
        value: round(percentile(hearth.latencies, 99)),
        unit: "ms",
        limit: { name: "MQTT.js direct, streaming", value: round(percentile(limit.latencies, 99)) },
      },
      {
        name: "telemetry_latency_p50",
        value: round(percentile(hearthLatency, 50)),
        unit: "ms",
        limit: { name: "MQTT.js direct p50", value: round(percentile(directLatency, 50)) },
        ratio: roundRatio(percentile(hearthLatency, 50) / percentile(directLatency, 50)),
      },
      { name: "telemetry_latency_p99", value: round(p99Hearth), unit: "ms", limit: { name: "MQTT.js direct p99", value: round(p99Direct) }, ratio: roundRatio(p99Hearth / p99Direct) },
      { name: "telemetry_latency_p99_over_direct", value: round(p99Hearth - p99Direct), unit: "ms (goal: under 5)" },
      { name: "command_round_trip_p50", value: round(percentile(rtt, 50)), unit: "ms" },
      { name: "command_round_trip_p99", value: round(percentile(rtt, 99)), unit: "ms" },
    ];
  } finally {
    await bridge.stop();
    await devices.stop();
    await hub.stop();
    await subscriber.endAsync(true);
    await direct.endAsync(true);
    await broker.stop();
  }
}

const FAILOVERS = Number(process.env.HEARTH_BENCH_FAILOVERS ?? 6);

/**
 * hearth on two brokers that stand for one cluster's nodes (independent Mosquittos: what is timed is
 * hearth's own part, noticing the loss and connecting to the next node), with the default backoff. Each
 * round kills the node hearth is on and times its first publish on the other, then starts the dead one
 * again for the next round, which kills the other.
 */
async function failover(): Promise<BenchResult[]> {
  const nodes = [await startBroker(), await startBroker()];
  const log = silentLogger();
  const hub = new Hub({ log, stageTimeouts: { shutdownJobs: 2, cancel: 2, tracked: 2, finalWrite: 2, close: 2 } });
  const devices = new DeviceManager({ hub, log, nodeId: "bench", catalogue: builtInCatalogue(), transports: serialTransports({ hub, log }), ports: new ConfiguredPorts() });
  const bridge = new Bridge({
    hub,
    log,
    nodeId: "bench",
    devices: devices.view(),
    mqtt: MqttSchema.parse({ url: nodes.map((n) => n.url), base_topic: "hearth/bench", discovery: { enabled: false } }),
  });
  const watchers = await Promise.all(nodes.map((n) => mqtt.connectAsync(n.url, { reconnectPeriod: 100 })));
  const times: number[] = [];
  try {
    await hub.start();
    await bridge.start();
    while (!bridge.connection?.connected) await Bun.sleep(10);
    for (let round = 0; round < FAILOVERS; round++) {
      const on = bridge.connection.node.index - 1;
      const other = 1 - on;
      const watcher = watchers[other]!;
      await watcher.subscribeAsync("hearth/bench/#", { qos: 0 });
      await Bun.sleep(100); // the retained topics replayed at subscribe are through
      const first = new Promise<number>((resolve) => watcher.once("message", () => resolve(performance.now())));
      const killedAt = performance.now();
      await nodes[on]!.kill();
      times.push((await first) - killedAt);
      await watcher.unsubscribeAsync("hearth/bench/#");
      await nodes[on]!.restart();
      while (!bridge.connection.connected) await Bun.sleep(10);
    }
  } finally {
    await bridge.stop();
    await devices.stop();
    await hub.stop();
    for (const w of watchers) await w.endAsync(true);
    for (const n of nodes) await n.stop();
  }
  times.sort((a, b) => a - b);
  const limit = { name: "the backoff's first delay", value: DEFAULT_BACKOFF.initialMs };
  const p50 = percentile(times, 50);
  const worst = times.at(-1)!;
  return [
    { name: "failover_to_first_publish_p50", value: round(p50), unit: "ms", limit, ratio: roundRatio(p50 / limit.value), goal: 2 },
    { name: "failover_to_first_publish_max", value: round(worst), unit: `ms (worst of ${FAILOVERS})`, limit, ratio: roundRatio(worst / limit.value), goal: 2 },
  ];
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
