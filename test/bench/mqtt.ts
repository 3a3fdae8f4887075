/**
 * `npm run bench -- mqtt`: state changes through hearth's MQTT bridge to a subscriber on a real
 * Mosquitto (messages/s, latency p50/p99 from the state write to the subscriber's receipt), against
 * MQTT.js publishing the same payloads straight to the same broker and subscriber (the limit); and the
 * command round trip: publish `set` → the command on the pty → the reply → the state published back.
 *
 * Not yet measured here: telemetry streamed by the simulator as fast as the pty carries it (the
 * latency from the device's own write); the state write stands in for it.
 */
import mqtt from "mqtt";
import type { DeviceConfig } from "../../src/config/schema.ts";
import { MqttSchema } from "../../src/config/schema.ts";
import { Hub } from "../../src/core/hub.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { DeviceManager } from "../../src/devices/manager.ts";
import { ConfiguredPorts, serialLinks } from "../../src/devices/ports.ts";
import { Bridge } from "../../src/mqtt/bridge.ts";
import { startBroker } from "../mqtt/broker.ts";
import { type BenchResult, costRatio, roundRatio } from "./result.ts";

const MESSAGES = Number(process.env.HEARTH_BENCH_MESSAGES ?? 5000);
const SAMPLES = 500;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function run(): Promise<BenchResult[]> {
  const broker = await startBroker();
  const log = silentLogger();
  const hub = new Hub({ log, stageTimeouts: { shutdownJobs: 2, cancel: 2, tracked: 2, finalWrite: 2, close: 2 } });
  const devices = new DeviceManager({ hub, log, nodeId: "bench", links: serialLinks({ hub, log }), ports: new ConfiguredPorts() });
  const bridge = new Bridge({ hub, log, nodeId: "bench", devices, mqtt: MqttSchema.parse({ url: broker.url, base_topic: "hearth/bench", discovery: { enabled: false } }) });
  const subscriber = await mqtt.connectAsync(broker.url);
  const direct = await mqtt.connectAsync(broker.url);
  try {
    await devices.setup([{ id: "board", model: "hearth-io", port: "sim", options: { interval: 600_000 } } as DeviceConfig]);
    await hub.start();
    await bridge.start();
    await new Promise<void>((resolve) => bridge.connection!.onConnect(resolve));
    await subscriber.subscribeAsync(["hearth/bench/board", "direct/board"], { qos: 0 });

    let arrived: (value: number) => void = () => {};
    subscriber.on("message", (_topic, payload) => {
      const n = (JSON.parse(payload.toString()) as { uptime?: number }).uptime;
      if (typeof n === "number") arrived(n);
    });
    const entity = [...devices.entities.values()].find((e) => e.key === "uptime")!;
    const attributes = entity.baseAttributes();
    const viaHearth = (i: number) => hub.states.set(entity.entityId, String(i), attributes);
    const payloadOf = (i: number) => JSON.stringify({ temperature: 21.5, humidity: 40, button: "OFF", relay1: "OFF", relay2: "OFF", led: { state: "OFF", brightness: 0 }, uptime: i, restart: null });
    const viaDirect = (i: number) => direct.publish("direct/board", payloadOf(i), { qos: 0, retain: true });

    const throughput = async (send: (i: number) => void, base: number) => {
      let last = 0;
      const done = new Promise<void>((resolve) => {
        arrived = (n) => {
          last = n;
          if (n === base + MESSAGES) resolve();
        };
      });
      const start = performance.now();
      for (let i = 1; i <= MESSAGES; i++) {
        send(base + i);
        if (i % 50 === 0) await turn(); // let the socket drain, as a live loop would
        else await Promise.resolve();
      }
      await done;
      void last;
      return MESSAGES / ((performance.now() - start) / 1000);
    };
    const latency = async (send: (i: number) => void, base: number) => {
      const times: number[] = [];
      for (let i = 1; i <= SAMPLES; i++) {
        const got = new Promise<void>((resolve) => {
          arrived = (n) => n === base + i && resolve();
        });
        const t = performance.now();
        send(base + i);
        await got;
        times.push(performance.now() - t);
      }
      return times.sort((a, b) => a - b);
    };

    const hearthRate = await throughput(viaHearth, 1_000_000);
    const directRate = await throughput(viaDirect, 2_000_000);
    const hearthLatency = await latency(viaHearth, 3_000_000);
    const directLatency = await latency(viaDirect, 4_000_000);

    // Command round trip over the real pty.
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
      { name: "state_publish_throughput", value: Math.round(hearthRate), unit: "messages/s", limit: { name: "MQTT.js publishing straight to Mosquitto", value: Math.round(directRate) }, ratio: roundRatio(costRatio(hearthRate, directRate, "rate")), goal: 2 },
      { name: "state_latency_p50", value: round(percentile(hearthLatency, 50)), unit: "ms", limit: { name: "MQTT.js direct p50", value: round(percentile(directLatency, 50)) }, ratio: roundRatio(percentile(hearthLatency, 50) / percentile(directLatency, 50)) },
      { name: "state_latency_p99", value: round(p99Hearth), unit: "ms", limit: { name: "MQTT.js direct p99", value: round(p99Direct) }, ratio: roundRatio(p99Hearth / p99Direct) },
      { name: "state_latency_p99_over_direct", value: round(p99Hearth - p99Direct), unit: "ms (goal: under 5)" },
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

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
