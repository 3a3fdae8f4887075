import { expect, test } from "bun:test";
import { join } from "node:path";
import { LOG_LEVELS } from "../../src/core/logger.ts";
import { RESTART_EXIT_CODE } from "../../src/core/signals.ts";
import { VERSION } from "../../src/version.ts";
import { OutputReader } from "../helpers/output-reader.ts";
import { tempDir } from "../helpers/temp.ts";
import { broker, cleanUpAfterEach, configFile, discovered, hearth, json, peer, yaml } from "./helpers.ts";
import { renderTemplate } from "./jinja.ts";

// hearth itself as a Home Assistant device: the one every device's discovery names in via_device, with
// its health read from bridge/state and bridge/info, a log level select and a restart button, all on a
// real Mosquitto; the templates are rendered by Jinja2 as Home Assistant renders them (jinja.ts).
cleanUpAfterEach();

const root = join(import.meta.dir, "../..");
const BRIDGE_ENTITIES = [
  ["binary_sensor", "connection_state"],
  ["sensor", "version"],
  ["sensor", "uptime"],
  ["sensor", "loop_lag"],
  ["sensor", "executor_queue"],
  ["sensor", "outbox_depth"],
  ["sensor", "devices_available"],
  ["select", "log_level"],
  ["button", "restart"],
] as const;

type Config = Record<string, unknown> & { device: Record<string, unknown> };

test("hearth announces itself as the device its devices are via: identifiers, name, version, and entities whose templates read bridge/info", async () => {
  const b = await broker();
  const user = await peer(b.url);
  // A config an earlier hearth published for a bridge entity that is no more: cleared, the others kept.
  await user.publish("homeassistant/sensor/test_bridge/obsolete/config", JSON.stringify({ name: "Obsolete", unique_id: "test_bridge_obsolete" }), { retain: true });
  await hearth(configFile(yaml(b.url, ["board", "spare"])));
  const configs = new Map<string, Config>();
  for (const [, key] of BRIDGE_ENTITIES) configs.set(key, await discovered<Config>(user, "bridge", key));
  await user.next("homeassistant/sensor/test_bridge/obsolete/config", (p) => p === "");

  for (const [kind, key] of BRIDGE_ENTITIES) {
    const config = configs.get(key)!;
    expect(config.unique_id).toBe(`test_bridge_${key}`);
    expect(config.default_entity_id).toBe(`${kind}.hearth_test_${key}`);
    expect(config.device).toEqual({ identifiers: ["hearth_test_bridge"], name: "hearth test", model: "hearth bridge", manufacturer: "hearth", sw_version: VERSION });
  }
  // Every device is shown under the bridge now announced.
  const relay = await discovered<Config>(user, "board", "relay1");
  expect(relay.device.via_device).toBe("hearth_test_bridge");

  // The connection state is bridge/state itself (no availability: offline is its "off", not "unavailable").
  const connection = configs.get("connection_state")!;
  expect(connection).toMatchObject({ device_class: "connectivity", entity_category: "diagnostic", state_topic: "hearth/test/bridge/state", payload_on: "online", payload_off: "offline" });
  expect(connection).not.toHaveProperty("availability");
  await user.next("hearth/test/bridge/state", (p) => p === connection.payload_on);
  for (const [, key] of BRIDGE_ENTITIES.slice(1)) expect(configs.get(key)!.availability).toEqual([{ topic: "hearth/test/bridge/state" }]);

  // What Home Assistant shows of bridge/info once both boards are up.
  const info = await user.next(
    "hearth/test/bridge/info",
    json<{ devices: { available: number } }>((i) => i.devices.available === 2),
    20_000,
  );
  const shown = async (key: string) => renderTemplate(configs.get(key)!.value_template as string, info.payload);
  expect(await shown("version")).toBe(VERSION);
  expect(Number(await shown("uptime"))).toBeGreaterThanOrEqual(0);
  expect(configs.get("uptime")).toMatchObject({ device_class: "duration", unit_of_measurement: "s" });
  expect(Number(await shown("loop_lag"))).toBeGreaterThanOrEqual(0); // the service's loop monitor runs
  expect(await shown("outbox_depth")).toBe(String(JSON.parse(info.payload).outbox.queued));
  // The executor may not have started (bridge/info says null then): unknown to Home Assistant, not an error.
  const executor = JSON.parse(info.payload).executor;
  expect(await shown("executor_queue")).toBe(executor === null ? "None" : String(executor.queued));
  expect(await shown("devices_available")).toBe("2");
  const devices = configs.get("devices_available")!;
  expect(devices.json_attributes_topic).toBe("hearth/test/bridge/info");
  expect(JSON.parse(await renderTemplate(devices.json_attributes_template as string, info.payload))).toEqual({ configured: 2, loaded: 2 });
  expect(configs.get("log_level")!.options).toEqual([...LOG_LEVELS]);
  expect(configs.get("restart")).toMatchObject({ device_class: "restart", command_topic: "hearth/test/bridge/request/restart" });
});

test("the log level select switches hearth's log level over MQTT, and bridge/info shows it", async () => {
  const b = await broker();
  const user = await peer(b.url);
  const { service } = await hearth(configFile(yaml(b.url)));
  const select = await discovered<Config>(user, "bridge", "log_level");
  const before = await user.next("hearth/test/bridge/info");
  expect(await renderTemplate(select.value_template as string, before.payload)).toBe("debug"); // the tests' logger
  // As Home Assistant sends a choice: the command template rendered with the option as `value`.
  await user.publish(select.command_topic as string, await renderTemplate(select.command_template as string, "warn"));
  expect(await user.json("hearth/test/bridge/response/log_level")).toMatchObject({ status: "ok", data: { level: "warn" } });
  const after = await user.next(
    "hearth/test/bridge/info",
    json<{ log_level: string }>((i) => i.log_level === "warn"),
  );
  expect(await renderTemplate(select.value_template as string, after.payload)).toBe("warn");
  expect(service.log.level).toBe("warn");
});

test("a restart asked of a service that is no process of its own is refused with why, and hearth keeps running", async () => {
  const b = await broker();
  const user = await peer(b.url);
  const { service } = await hearth(configFile(yaml(b.url)));
  await user.next("hearth/test/bridge/state", (p) => p === "online");
  await user.publish("hearth/test/bridge/request/restart", "{}");
  const reply = await user.json<{ status: string; error: string }>("hearth/test/bridge/response/restart");
  expect(reply).toMatchObject({ status: "error", error: "this hearth cannot restart: it is not a process of its own (hearth run)" });
  expect(service.hub.state).toBe("running");
});

test("pressing restart over MQTT gets a reply, then hearth (a real `hearth run` process) shuts down and exits with the restart code, and starts again when its supervisor runs it; its discovery stays", async () => {
  const b = await broker();
  const user = await peer(b.url);
  const file = configFile(yaml(b.url));
  const data = tempDir("hearth-restart-");
  const { INVOCATION_ID: _, ...env } = process.env; // run as under npm start, not by systemd
  const run = () =>
    Bun.spawn([process.execPath, join(root, "src/cli.ts"), "run", "--config", file.path], {
      env: { ...env, HEARTH_DATA_DIR: data, HEARTH_LOG_FORMAT: "json" },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
  const procs = [run()];
  const out = new OutputReader(procs[0]!.stdout);
  try {
    const button = await discovered<Config>(user, "bridge", "restart", () => true, 20_000);
    await user.next("hearth/test/board/availability", (p) => p === "online", 20_000);
    const pressed = user.received.length;
    await user.publish(button.command_topic as string, button.payload_press as string);
    expect(await user.json("hearth/test/bridge/response/restart", () => true, 10_000)).toMatchObject({ status: "ok", data: { restarting: true, exit_code: RESTART_EXIT_CODE } });
    expect(await procs[0]!.exited).toBe(RESTART_EXIT_CODE);
    // A staged shutdown, not a crash: the board went offline, then the bridge (the reply came before either).
    const board = await user.next("hearth/test/board/availability", (p) => p === "offline", 5000, pressed);
    const bridge = await user.next("hearth/test/bridge/state", (p) => p === "offline", 5000, pressed);
    const reply = user.received.findIndex((m, i) => i >= pressed && m.topic === "hearth/test/bridge/response/restart");
    expect(reply).toBeLessThan(user.received.indexOf(board));
    expect(user.received.indexOf(board)).toBeLessThan(user.received.indexOf(bridge));
    const lines = (await out.done)
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { msg?: string; level: string });
    expect(lines.some((l) => l.msg?.includes(`exiting with code ${RESTART_EXIT_CODE} for its supervisor to start hearth again`))).toBe(true);
    expect(lines.filter((l) => l.level === "error" || l.level === "fatal")).toEqual([]);
    // Home Assistant keeps the configs (retained) for when hearth is back.
    const later = await peer(b.url, ["homeassistant/#"]);
    expect((await discovered<Config>(later, "bridge", "restart")).unique_id).toBe("test_bridge_restart");

    // The test stands in for systemd here: on that exit code it starts the same command again.
    const stopped = user.received.length;
    procs.push(run());
    await user.next("hearth/test/bridge/state", (p) => p === "online", 20_000, stopped);
    await user.next("hearth/test/board/availability", (p) => p === "online", 20_000, stopped);
  } finally {
    for (const proc of procs) {
      proc.kill("SIGKILL");
      await proc.exited;
    }
  }
});
