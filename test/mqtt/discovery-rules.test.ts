import { expect, test } from "bun:test";
import { join } from "node:path";
import { DEFAULT_CONFIG } from "../../src/config/defaults.ts";
import { bridgeEntities } from "../../src/mqtt/bridge-device.ts";
import { Topics } from "../../src/mqtt/topics.ts";
import type { Peer } from "./broker.ts";
import { checkDeviceConfig, checkEntityConfig, componentAsHa, TEMPLATE_KEYS } from "./ha-rules.ts";
import { broker, cleanUpAfterEach, configFile, hearth, peer } from "./helpers.ts";

// What hearth really publishes for every built-in model (the embedded defaults run one simulated device
// of each, on real pseudo-terminals or probe folders, against a real Mosquitto), checked against Home
// Assistant's rules for discovery payloads (ha-rules.ts), and its templates rendered by real Jinja2 (a
// python peer, render-templates.py) against every state message each device published.
cleanUpAfterEach();

const PYTHON = Bun.which("python3") ?? "python3";
const RENDERER = join(import.meta.dir, "render-templates.py");

/** hearth running every built-in model; resolves once each device is online with a state of readings. */
async function everyModel(mode: "device" | "entity"): Promise<{ ha: Peer; service: Awaited<ReturnType<typeof hearth>>["service"] }> {
  const b = await broker();
  const ha = await peer(b.url);
  const devices = DEFAULT_CONFIG.devices.map((d) => JSON.stringify(d)).join("\n  - ");
  const file = configFile(
    `node_id: test\nshutdown: { shutdown_jobs: 2, cancel: 2, tracked: 2, final_write: 2, close: 2 }\nmqtt:\n  url: ${b.url}\n  base_topic: hearth/test\n  discovery: { mode: ${mode} }\ndevices:\n  - ${devices}\n`,
  );
  const { service } = await hearth(file);
  for (const d of DEFAULT_CONFIG.devices) {
    await ha.next(`hearth/test/${d.id}/availability`, (p) => p === "online", 20_000);
    await ha.json<Record<string, unknown>>(`hearth/test/${d.id}`, (s) => Object.values(s).some((v) => typeof v === "number"), 20_000);
  }
  return { ha, service };
}

/** The last config received on each discovery topic (a removal, empty, is none). */
function configs(ha: Peer, match: (topic: string) => boolean): Map<string, Record<string, unknown>> {
  const last = new Map<string, Record<string, unknown>>();
  for (const m of ha.received) if (match(m.topic) && m.payload !== "") last.set(m.topic, JSON.parse(m.payload));
  return last;
}

test("every built-in model's device config keeps Home Assistant's rules: keys per platform, availability, device, origin, ids, classes and units", async () => {
  const { ha } = await everyModel("device");
  const found = configs(ha, (t) => t.startsWith("homeassistant/device/"));
  // Every device's, and hearth's own (the bridge, which they are via).
  expect([...found.keys()].sort()).toEqual([...DEFAULT_CONFIG.devices.map((d) => `homeassistant/device/test_${d.id}/config`), "homeassistant/device/test_bridge/config"].sort());
  const problems = [...found].flatMap(([topic, config]) => checkDeviceConfig(topic, config));
  expect(problems).toEqual([]);
}, 60_000);

test("every built-in model's entity configs keep the same rules in entity mode", async () => {
  const { ha, service } = await everyModel("entity");
  const found = configs(ha, (t) => t.startsWith("homeassistant/") && t.split("/").length === 5);
  const expected = [
    ...DEFAULT_CONFIG.devices.flatMap((d) => [...service.devices.device(d.id)!.entities].map(([key, e]) => `homeassistant/${e.kind}/test_${d.id}/${key}/config`)),
    ...bridgeEntities("test", new Topics("hearth/test")).map((e) => `homeassistant/${e.kind}/test_bridge/${e.objectId}/config`),
  ];
  for (const topic of expected) await ha.next(topic, (p) => p !== "");
  expect([...configs(ha, (t) => t.startsWith("homeassistant/") && t.split("/").length === 5).keys()].sort()).toEqual(expected.sort());
  const problems = [...found].flatMap(([topic, config]) => checkEntityConfig(topic, config));
  expect(problems).toEqual([]);
}, 60_000);

test("the main reading of the single-reading models takes the device's name (name: null); no entity of a board of several does", async () => {
  const { ha } = await everyModel("device");
  const unnamed: string[] = [];
  for (const [topic, config] of configs(ha, (t) => t.startsWith("homeassistant/device/"))) {
    for (const [key, component] of Object.entries(config.cmps as Record<string, { name?: unknown }>)) if (component.name === null) unnamed.push(`${topic.split("/")[2]}.${key}`);
  }
  const ids = (model: string) => DEFAULT_CONFIG.devices.filter((d) => d.model === model).map((d) => `test_${d.id}`);
  expect(unnamed.sort()).toEqual([...ids("ds18b20").map((id) => `${id}.temperature`), ...ids("mh-z19b").map((id) => `${id}.co2`)].sort());
}, 60_000);

interface Rendered {
  id: string;
  payload: number;
  ok: boolean;
  result?: string;
  error?: string;
}

/** Renders each template against each payload with real Jinja2 (render-templates.py). */
async function render(templates: Array<{ id: string; template: string }>, payloads: string[]): Promise<Rendered[]> {
  const child = Bun.spawn([PYTHON, RENDERER], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  child.stdin.write(JSON.stringify({ templates, payloads }));
  await child.stdin.end();
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`render-templates.py failed (python3 with Jinja2 is needed: apt-get install python3-jinja2): ${err}`);
  return JSON.parse(out) as Rendered[];
}

/**
 * What Home Assistant makes of a template's output, judged against the reading it stands for: the
 * reading itself (a number as a number, text as text, ON/OFF), `None` for no reading (unknown for a sensor,
 * binary sensor, switch, number and a light's state), and for a brightness a number or an empty output
 * (skipped) when there is none. Undefined when it is right, else what is wrong.
 */
function misread(platform: string, templateKey: string, value: unknown, result: string): string | undefined {
  if (templateKey === "brightness_value_template") {
    const brightness = typeof value === "object" && value !== null ? (value as { brightness?: unknown }).brightness : undefined;
    if (typeof brightness === "number") return result !== "" && Number(result) === brightness ? undefined : `brightness ${brightness} rendered ${JSON.stringify(result)}`;
    return result === "" ? undefined : `no brightness rendered ${JSON.stringify(result)} (Home Assistant skips only an empty output)`;
  }
  const reading = templateKey === "state_value_template" && typeof value === "object" && value !== null ? (value as { state?: unknown }).state : value;
  if (reading === null || reading === undefined) return result === "None" ? undefined : `no reading rendered ${JSON.stringify(result)}, not None (unknown)`;
  if (typeof reading === "number") return Number(result) === reading ? undefined : `${reading} rendered ${JSON.stringify(result)}`;
  if (platform !== "sensor" && reading !== "ON" && reading !== "OFF") return `a ${platform} reading ${JSON.stringify(reading)} that is not ON or OFF`;
  return result === String(reading).trim() ? undefined : `${JSON.stringify(reading)} rendered ${JSON.stringify(result)}`;
}

test("every template of every built-in model renders, with real Jinja2, to what Home Assistant reads right for every state hearth published, and for readings that are not there (null)", async () => {
  const { ha } = await everyModel("device");
  // The models' devices; the bridge's templates read bridge/info (test/mqtt/bridge-device.test.ts renders them).
  const found = configs(ha, (t) => t.startsWith("homeassistant/device/") && t !== "homeassistant/device/test_bridge/config");
  const problems: string[] = [];
  let renders = 0;
  for (const [topic, config] of found) {
    const objectId = topic.split("/")[2] ?? "";
    const device = objectId.replace(/^test_/, "");
    const states = ha.received.filter((m) => m.topic === `hearth/test/${device}` && m.payload !== "").map((m) => m.payload);
    expect(states.length).toBeGreaterThan(0);
    // A reading a device has not given (before its first read, a field a meter does not send) is null in its state message.
    const nulls = JSON.stringify(Object.fromEntries(Object.keys(JSON.parse(states.at(-1) ?? "{}")).map((k) => [k, null])));
    const payloads = [...new Set([...states, nulls])];
    const templates: Array<{ id: string; template: string; platform: string; key: string; templateKey: string }> = [];
    for (const key of Object.keys(config.cmps as object)) {
      const component = componentAsHa(config, key) ?? {};
      for (const templateKey of TEMPLATE_KEYS) {
        if (typeof component[templateKey] === "string")
          templates.push({ id: `${key} ${templateKey}`, template: component[templateKey] as string, platform: String(component.platform), key, templateKey });
      }
    }
    const results = await render(templates, payloads);
    renders += results.length;
    for (const r of results) {
      const t = templates.find((x) => x.id === r.id)!;
      const where = `${device}.${r.id} on ${payloads[r.payload]?.slice(0, 120)}`;
      if (!r.ok) {
        problems.push(`${where}: ${r.error}`);
        continue;
      }
      const value = (JSON.parse(payloads[r.payload] ?? "{}") as Record<string, unknown>)[t.key];
      const wrong = misread(t.platform, t.templateKey, value, r.result ?? "");
      if (wrong !== undefined) problems.push(`${where}: ${wrong}`);
    }
  }
  expect(problems).toEqual([]);
  expect(renders).toBeGreaterThan(found.size * 2);
}, 60_000);

test("a light's brightness command template renders the JSON hearth takes, for the brightnesses Home Assistant sends", async () => {
  const { ha } = await everyModel("device");
  const lights = [...configs(ha, (t) => t.startsWith("homeassistant/device/")).values()].flatMap((c) =>
    Object.values(c.cmps as Record<string, Record<string, unknown>>).filter((x) => x.platform === "light"),
  );
  expect(lights.length).toBeGreaterThan(0);
  for (const light of lights) {
    const results = await render([{ id: "brightness", template: String(light.brightness_command_template) }], ["0", "1", "128", "255"]);
    expect(results.map((r) => JSON.parse(r.result ?? "null"))).toEqual([{ brightness: 0 }, { brightness: 1 }, { brightness: 128 }, { brightness: 255 }]);
  }
}, 60_000);
