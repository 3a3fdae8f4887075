import { expect, test } from "bun:test";
import mqtt from "mqtt";
import { MqttSchema } from "../../src/config/schema.ts";
import { ManualClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { Bridge } from "../../src/mqtt/bridge.ts";
import { deviceHub } from "../engine/helpers.ts";
import { broker, cleanUpAfterEach, json, peer } from "./helpers.ts";

cleanUpAfterEach();

/** A bridge with no devices on a real broker, counting the MQTT clients it makes; stopped after the test (with its hub). */
async function bridgeOn(url: string, options: { clock?: ManualClock; infoInterval?: number } = {}) {
  const h = await deviceHub([], { clock: options.clock });
  let clients = 0;
  const bridge = new Bridge({
    hub: h.hub,
    log: silentLogger(),
    nodeId: "test",
    devices: h.manager.view(),
    mqtt: MqttSchema.parse({ url, base_topic: "hearth/test", discovery: { enabled: false } }),
    infoInterval: options.infoInterval,
    factory: (brokerUrl, clientOptions) => {
      clients++;
      return mqtt.connect(brokerUrl, clientOptions);
    },
  });
  const stop = async () => {
    await bridge.stop();
    await h.stop();
  };
  return { bridge, clients: () => clients, stop };
}

test("a second start of the bridge gets the first one's promise: one connection, one MQTT client", async () => {
  const b = await broker();
  const user = await peer(b.url);
  const { bridge, clients, stop } = await bridgeOn(b.url);
  try {
    const first = bridge.start();
    expect(bridge.start()).toBe(first);
    await first;
    const connection = bridge.connection;
    await bridge.start();
    expect(bridge.connection).toBe(connection!);
    await user.next("hearth/test/bridge/state", (p) => p === "online");
    expect(clients()).toBe(1);
  } finally {
    await stop();
  }
});

test("bridge/info tells the process's memory: resident set and JavaScript heap in use, in MB", async () => {
  const b = await broker();
  const user = await peer(b.url);
  const { bridge, stop } = await bridgeOn(b.url);
  try {
    await bridge.start();
    const info = JSON.parse((await user.next("hearth/test/bridge/info")).payload);
    const { rss_mb, heap_used_mb } = info.memory;
    // This very process runs the bridge: its figures are what /proc and the runtime say of it.
    const rss = process.memoryUsage().rss / 1048576;
    expect(rss_mb).toBeGreaterThan(rss / 2);
    expect(rss_mb).toBeLessThan(rss * 2);
    expect(heap_used_mb).toBeGreaterThan(0);
    expect(heap_used_mb).toBeLessThan(rss_mb);
  } finally {
    await stop();
  }
});

test("bridge/info is published again each interval of the hub's clock, with the uptime on that clock", async () => {
  const b = await broker();
  const user = await peer(b.url);
  const clock = new ManualClock();
  const { bridge, stop } = await bridgeOn(b.url, { clock, infoInterval: 60 });
  try {
    await bridge.start();
    await user.next(
      "hearth/test/bridge/info",
      json((info) => info.uptime_s === 0),
    );
    clock.advance(60_000);
    await user.next(
      "hearth/test/bridge/info",
      json((info) => info.uptime_s === 60),
    );
    clock.advance(60_000);
    await user.next(
      "hearth/test/bridge/info",
      json((info) => info.uptime_s === 120),
    );
  } finally {
    await stop();
  }
});
