import { expect, test } from "bun:test";
import type { Peer } from "./broker.ts";
import { broker, cleanUpAfterEach, configFile, hearth, json, peer, yaml } from "./helpers.ts";

cleanUpAfterEach();

type Reply = { status: string; data: Record<string, unknown>; error?: string; transaction?: unknown; message_id?: unknown };

async function running() {
  const b = await broker();
  const user = await peer(b.url);
  const file = configFile(yaml(b.url));
  const { service, logs } = await hearth(file);
  await user.next("hearth/test/board/availability", (p) => p === "online");
  await user.next(
    "hearth/test/board",
    json((s) => typeof s.temperature === "number"),
  );
  return { b, user, service, logs, file };
}

function set(user: Peer, topic: string, payload: string) {
  return user.publish(`hearth/test/${topic}`, payload);
}

test("a device's state arrives retained as JSON of its entities, with its availability online", async () => {
  const { b } = await running();
  const late = await peer(b.url); // a subscriber that comes later gets the retained state
  const state = JSON.parse((await late.next("hearth/test/board")).payload);
  expect(Object.keys(state).sort()).toEqual(["button", "firmware", "humidity", "led", "relay1", "relay2", "restart", "temperature", "uptime"]);
  expect(state.relay1).toBe("OFF");
  expect(state.led).toEqual({ state: "OFF", brightness: 0 });
  expect((await late.next("hearth/test/board")).retain).toBe(true);
  expect((await late.next("hearth/test/board/availability")).payload).toBe("online");
});

test("a JSON object on /set switches a relay and sets the LED, and the new state comes back", async () => {
  const { user } = await running();
  await set(user, "board/set", JSON.stringify({ relay1: "ON", led: { state: "ON", brightness: 128 } }));
  const state = await user.json("hearth/test/board", (s: Record<string, unknown>) => s.relay1 === "ON" && (s.led as { brightness?: number }).brightness === 128);
  expect(state.led).toEqual({ state: "ON", brightness: 128 });
});

test("a plain value on /set/<entity> takes ON, OFF and TOGGLE", async () => {
  const { user } = await running();
  await set(user, "board/set/relay2", "ON");
  await user.json("hearth/test/board", (s: Record<string, unknown>) => s.relay2 === "ON");
  await set(user, "board/set/relay2", "TOGGLE");
  await user.json("hearth/test/board", (s: Record<string, unknown>) => s.relay2 === "OFF");
  await set(user, "board/set/relay2", "on");
  await user.json("hearth/test/board", (s: Record<string, unknown>) => s.relay2 === "ON");
  await set(user, "board/set/relay2", "OFF");
  await user.json("hearth/test/board", (s: Record<string, unknown>) => s.relay2 === "OFF");
});

test("a set with a transaction gets its outcome on the device's response topic", async () => {
  const { user } = await running();
  const ok = user.json<Reply>("hearth/test/board/response", (r) => r.transaction === "t-1");
  await set(user, "board/set", JSON.stringify({ relay1: "ON", transaction: "t-1" }));
  expect(await ok).toEqual({ status: "ok", data: { relay1: "ON" }, transaction: "t-1", message_id: expect.any(String) });

  const plain = user.json<Reply>("hearth/test/board/response", (r) => r.transaction === 7);
  await set(user, "board/set/led", JSON.stringify({ brightness: 40, transaction: 7 }));
  expect((await plain).data).toEqual({ led: { state: "ON", brightness: 40 } });

  const bad = user.json<Reply>("hearth/test/board/response", (r) => r.transaction === "t-2");
  await set(user, "board/set", JSON.stringify({ relay1: "MAYBE", transaction: "t-2" }));
  expect(await bad).toEqual({ status: "error", data: {}, error: 'relay1: expected ON, OFF or TOGGLE, got "MAYBE"', transaction: "t-2", message_id: expect.any(String) });
});

test("a bad set of every shape is answered with its reason and the bridge goes on working", async () => {
  const { user, logs } = await running();
  const cases: Array<[string, string, string]> = [
    ["board/set", "not json", "expected a JSON object of entity → value"],
    ["board/set", "[1,2]", "expected record"],
    ["board/set", "{}", "expected at least one entity to set"],
    ["board/set", '{"Relay-1": "ON"}', "Relay-1: not an entity key"],
    ["board/set", '{"nosuch": "ON"}', 'no entity "nosuch"'],
    ["board/set", '{"temperature": 20}', "a sensor is read-only"],
    ["board/set/led", '{"brightness": 999}', 'expected {"state": "ON"|"OFF"|"TOGGLE", "brightness": 0-255}'],
    ["board/set/relay1", "[]", "expected ON, OFF or TOGGLE"],
    ["ghost/set", '{"relay1": "ON"}', 'no device "ghost"'],
  ];
  for (const [i, [topic, payload, reason]] of cases.entries()) {
    const withTransaction = payload.startsWith("{") && payload !== "{}" && topic !== "board/set/led" ? payload.replace(/}$/, `, "transaction": ${i}}`) : payload;
    const answered = withTransaction !== payload && !topic.startsWith("ghost");
    const reply = answered ? user.json<Reply>("hearth/test/board/response", (r) => r.transaction === i) : undefined;
    await set(user, topic, withTransaction);
    if (reply !== undefined) {
      const r = await reply;
      expect(r.status).toBe("error");
      expect(r.error).toContain(reason);
    }
  }
  await set(user, "board/set/relay1", "ON"); // still serving
  await user.json("hearth/test/board", (s: Record<string, unknown>) => s.relay1 === "ON");
  for (const [, , reason] of cases) expect(logs.lines.some((l) => String(l.msg).includes(reason) || String(l.error).includes(reason))).toBe(true);
});

test("get reads the device again and republishes its state", async () => {
  const { user } = await running();
  const again = user.fresh("hearth/test/board");
  await set(user, "board/get", "");
  expect(JSON.parse((await again).payload).temperature).toBeNumber();
  const once = user.fresh("hearth/test/board");
  await set(user, "board/get/humidity", "");
  await once;
});

test("bridge state, info and devices are retained", async () => {
  const { b } = await running();
  const late = await peer(b.url);
  expect((await late.next("hearth/test/bridge/state")).payload).toBe("online");
  const info = JSON.parse((await late.next("hearth/test/bridge/info")).payload);
  expect(info).toMatchObject({ node: "test", base_topic: "hearth/test", devices: { configured: 1 } });
  expect(info.loop).toHaveProperty("meanLagMs");
  expect(info.messages).toHaveProperty("published");
  const devices = JSON.parse(
    (
      await late.next(
        "hearth/test/bridge/devices",
        json((d: Array<{ available: boolean }>) => d[0]?.available === true),
      )
    ).payload,
  );
  expect((await late.next("hearth/test/bridge/devices")).retain).toBe(true);
  expect(devices).toHaveLength(1);
  expect(devices[0]).toMatchObject({ id: "board", model: "hearth-io", manufacturer: "hearth", available: true });
  expect(devices[0].entities.find((e: { key: string }) => e.key === "relay1")).toMatchObject({ kind: "switch", unique_id: "test_board_relay1", writable: true });
});

test("bridge requests are answered on bridge/response with the transaction echoed", async () => {
  const { user, service } = await running();
  const ask = async (command: string, body: unknown): Promise<Reply> => {
    const transaction = `${command}-${Math.random()}`;
    const reply = user.json<Reply>(`hearth/test/bridge/response/${command}`, (r) => r.transaction === transaction);
    await user.publish(`hearth/test/bridge/request/${command}`, JSON.stringify({ ...(body as object), transaction }));
    const r = await reply;
    expect(r.transaction).toBe(transaction);
    return r;
  };
  const health = await ask("health", {});
  expect(health).toMatchObject({ status: "ok", data: { healthy: true, mqtt: { connected: true }, devices: { board: { available: true } } } });
  expect(await ask("devices", {})).toMatchObject({ status: "ok", data: [{ id: "board" }] });
  const before = service.devices.device("board");
  expect(await ask("device/restart", { id: "board" })).toMatchObject({ status: "ok", data: { id: "board", state: "loaded" } });
  expect(service.devices.device("board")).not.toBe(before!);
  expect(await ask("device/reload", { id: "board" })).toMatchObject({ status: "ok" });
  expect(await ask("device/restart", { id: "ghost" })).toMatchObject({ status: "error", error: 'no device "ghost" (devices: board)' });
  expect(await ask("log_level", { level: "warn" })).toMatchObject({ status: "ok", data: { level: "warn" } });
  expect(service.log.level).toBe("warn");
  expect((await ask("log_level", { level: "loud" })).error).toStartWith("level: ");
  expect(await ask("config/reload", {})).toMatchObject({ status: "ok", data: { added: [], removed: [], reloaded: [] } });
  expect(await ask("nonsense", {})).toMatchObject({ status: "error", error: expect.stringContaining('unknown request "nonsense"') });
  expect((await ask("health", { extra: 1 })).error).toContain("extra");
});

test("a config/reload request with a broken file keeps the last good configuration and says why", async () => {
  const { user, file, service } = await running();
  file.write("node_id: test\ndevices: 12\n");
  const reply = user.json<Reply>("hearth/test/bridge/response/config/reload", (r) => r.transaction === 1);
  await user.publish("hearth/test/bridge/request/config/reload", '{"transaction": 1}');
  expect((await reply).error).toContain("configuration refused, the last good one stays in force: devices");
  expect(service.devices.device("board")).toBeDefined();
});

test("a request that is not JSON is answered with an error", async () => {
  const { user } = await running();
  const reply = user.json<Reply>("hearth/test/bridge/response/health", (r) => r.status === "error");
  await user.publish("hearth/test/bridge/request/health", "please");
  expect((await reply).error).toContain("expected a JSON object");
});

test("an oversized payload is refused by its size, unread", async () => {
  const { user, logs, service } = await running();
  const reply = user.json<Reply>("hearth/test/bridge/response/health", (r) => r.status === "error");
  const big = JSON.stringify({ transaction: "x".repeat(2000) });
  await user.publish("hearth/test/bridge/request/health", big);
  expect((await reply).error).toBe(`payload of ${big.length} bytes refused unread: mqtt.max_payload is 1024`);
  expect(logs.find("Refused a message on hearth/test/bridge/request/health")).toHaveLength(1);
  expect(service.bridge!.counters.refused).toBe(1);
});

test("topic-unsafe input: wildcards and deep topics reach no device", async () => {
  const { user, service } = await running();
  await user.publish("hearth/test/board/set/relay1/extra", "ON");
  await user.publish("hearth/test/board/set/", "ON");
  await user.publish("hearth/test/$SYS/set", "ON");
  await set(user, "board/set/relay2", "ON"); // a marker: handled after the ones above
  await user.json("hearth/test/board", (s: Record<string, unknown>) => s.relay2 === "ON");
  expect(service.hub.states.get("switch.board_relay1")?.state).toBe("off");
});

test("every retained topic is published again after the broker comes back empty, on every reconnect", async () => {
  const { b, user } = await running();
  for (let round = 1; round <= 2; round++) {
    // The last topic of hearth's republish, as the user (who reconnects too) sees it.
    const republished = user.fresh("hearth/test/board", () => true, 10_000);
    await b.kill(); // persistence off: the restarted broker has no retained message at all
    await b.restart();
    await republished;
    const late = await peer(b.url);
    for (const topic of [
      "hearth/test/bridge/state",
      "hearth/test/bridge/info",
      "hearth/test/bridge/devices",
      "hearth/test/board",
      "hearth/test/board/availability",
      "homeassistant/device/test_board/config",
    ]) {
      expect((await late.next(topic)).retain).toBe(true);
    }
    expect((await late.next("hearth/test/bridge/state")).payload).toBe("online");
  }
});

test("a device that reboots announces it on its event topic, not retained", async () => {
  const { user } = await running();
  const event = user.fresh("hearth/test/board/event");
  await set(user, "board/set/restart", "PRESS"); // the board resets and says hello again
  const message = await event;
  expect(JSON.parse(message.payload)).toMatchObject({ event: "rebooted", sw_version: expect.any(String) });
  expect(message.retain).toBe(false);
});

test("hearth speaks MQTT 5 when configured to", async () => {
  const b = await broker();
  const user = await peer(b.url);
  const { service } = await hearth(configFile(yaml(b.url, ["board"], "  protocol_version: 5\n")));
  await user.next("hearth/test/board/availability", (p) => p === "online");
  expect(service.config.mqtt.protocol_version).toBe(5);
  await set(user, "board/set/relay1", "ON");
  await user.json("hearth/test/board", (s: Record<string, unknown>) => s.relay1 === "ON");
});

test("a clean stop marks the devices and then the bridge offline", async () => {
  const { user, service } = await running();
  const mark = user.received.length;
  await service.stop();
  await user.next("hearth/test/bridge/state", (p) => p === "offline", 5000, mark);
  const after = user.received.slice(mark).map((m) => `${m.topic} ${m.payload}`);
  expect(after.indexOf("hearth/test/board/availability offline")).toBeGreaterThanOrEqual(0);
  expect(after.indexOf("hearth/test/board/availability offline")).toBeLessThan(after.indexOf("hearth/test/bridge/state offline"));
});
