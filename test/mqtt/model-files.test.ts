import { afterEach, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { openPty, type Pty } from "../../src/serial/pty.ts";
import { lineModel, writeModel } from "../helpers/model-files.ts";
import { until } from "../helpers/until.ts";
import { broker, cleanUpAfterEach, configFile, discovered, hearth, json, peer } from "./helpers.ts";

// A user's model files beside hearth.yaml, run by the service against a real Mosquitto, each device on a
// real pseudo-terminal whose other end the test plays as the firmware would.
cleanUpAfterEach();

/** Pseudo-terminals of the test, closed after it (after hearth has stopped: the hooks run in order). */
const ptys: Pty[] = [];
afterEach(async () => {
  for (const pty of ptys.splice(0)) await pty.close();
});

type Reply = { status: string; data: Record<string, unknown>; error?: string; transaction?: unknown };

const POWER = "- { key: power, kind: sensor, unit: W, device_class: power, state_class: measurement, read: p }";
const ENERGY = "- { key: energy, kind: sensor, unit: kWh, device_class: energy, state_class: total_increasing, read: e }";

/** hearth on a hearth.yaml with one device per entry, each on a new pty, and `models` written in `models/` beside it. */
async function running(devices: Array<{ id: string; model: string }>, models: Record<string, string>) {
  const b = await broker();
  const user = await peer(b.url);
  const ports = new Map(devices.map((d) => [d.id, openPty()]));
  ptys.push(...ports.values());
  const file = configFile(
    `node_id: test\nshutdown: { shutdown_jobs: 2, cancel: 2, tracked: 2, final_write: 2, close: 2 }\nmqtt:\n  url: ${b.url}\n  base_topic: hearth/test\ndevices:\n${devices.map((d) => `  - { id: ${d.id}, model: ${d.model}, port: ${ports.get(d.id)!.path} }\n`).join("")}`,
  );
  const paths = Object.fromEntries(Object.entries(models).map(([name, text]) => [name, writeModel(file.dir, name, text)]));
  const { service, logs } = await hearth(file);
  // These models only stream: a device is available once it has said something.
  for (const d of devices) {
    await ports.get(d.id)!.write("R p=0\n");
    await user.next(`hearth/test/${d.id}/availability`, (p) => p === "online");
  }
  const ask = async (command: string): Promise<Reply> => {
    const transaction = `${command}-${Math.random()}`;
    const reply = user.json<Reply>(`hearth/test/bridge/response/${command}`, (r) => r.transaction === transaction);
    await user.publish(`hearth/test/bridge/request/${command}`, JSON.stringify({ transaction }));
    return reply;
  };
  /** The firmware's side: one line to hearth. */
  const send = (id: string, line: string) => ports.get(id)!.write(`${line}\n`);
  return { service, logs, user, file, paths, ports, ask, send };
}

test("a device of a user's model file beside the configuration reports to MQTT and Home Assistant, and takes commands", async () => {
  const model = lineModel("my-meter", { entities: [POWER, '- { key: relay, kind: switch, read: r, write: { on: "SET r=1", off: "SET r=0" } }'] });
  const { user, send, ports, service, paths } = await running([{ id: "meter", model: "my-meter" }], { "meter.yaml": model });
  expect(service.catalogue.get("my-meter")?.source).toBe(paths["meter.yaml"]!);
  const discovery = await discovered(user, "meter", "power");
  expect(discovery).toMatchObject({ unit_of_measurement: "W", state_topic: "hearth/test/meter" });
  await send("meter", "R p=123.5 r=0");
  await user.next(
    "hearth/test/meter",
    json((s) => s.power === 123.5 && s.relay === "OFF"),
  );
  // A command goes out as the model writes it (`<id> SET r=1`); the firmware's reply sets the state.
  const pty = ports.get("meter")!;
  const written: string[] = [];
  const unlisten = pty.listen({
    data: (chunk) => {
      const line = new TextDecoder().decode(chunk).trim();
      written.push(line);
      const m = /^(\d+) SET r=1$/.exec(line);
      if (m) void pty.write(`OK ${m[1]} r=1\n`);
    },
    error: () => {},
  });
  await user.publish("hearth/test/meter/set/relay", "ON");
  await user.next(
    "hearth/test/meter",
    json((s) => s.relay === "ON"),
  );
  unlisten();
  expect(written).toEqual([expect.stringMatching(/^\d+ SET r=1$/)]);
});

test("a user's model of a built-in's name replaces it: the device runs the user's definition, and the log says so once", async () => {
  const { user, send, logs, ask, paths } = await running([{ id: "io", model: "hearth-io" }], { "hearth-io.yaml": lineModel("hearth-io", { name: "My own board" }) });
  await send("io", "R p=7");
  const state = await user.json<Record<string, unknown>>("hearth/test/io", (s) => s.power === 7);
  expect(Object.keys(state)).not.toContain("temperature"); // the built-in's entities are not there
  const device = await discovered<{ device?: { model?: string } }>(user, "io", "power");
  expect(device.device?.model).toBe("My own board");
  const said = () => logs.find("replaces the built-in");
  expect(said().map((l) => l.msg)).toEqual([`Model hearth-io of ${paths["hearth-io.yaml"]} replaces the built-in hearth-io`]);
  // A reload with the same file says nothing more.
  expect((await ask("config/reload")).status).toBe("ok");
  expect(said()).toHaveLength(1);
});

test("a reload after one model file changed restarts that model's devices and leaves the others alone", async () => {
  const { service, user, send, ask, paths } = await running(
    [
      { id: "a", model: "meter-a" },
      { id: "b", model: "meter-b" },
    ],
    { "a.yaml": lineModel("meter-a"), "b.yaml": lineModel("meter-b") },
  );
  const a = service.devices.device("a");
  const b = service.devices.device("b");
  const since = user.received.length;
  writeFileSync(paths["a.yaml"]!, lineModel("meter-a", { entities: [POWER, ENERGY] }));
  const reply = await ask("config/reload");
  expect(reply).toMatchObject({ status: "ok", data: { added: [], removed: [], reloaded: ["a"] } });
  expect(service.devices.device("a")).not.toBe(a!);
  expect(service.devices.device("b")).toBe(b!);
  // a went offline and came back with its new entity; b never went offline.
  const availability = (id: string) =>
    user.received
      .slice(since)
      .filter((m) => m.topic === `hearth/test/${id}/availability`)
      .map((m) => m.payload);
  // The restarted device is available again once it hears from the meter, which speaks until it is heard
  // (a line written while the device is set up anew, its port not yet open, would be lost).
  const meter = setInterval(() => void send("a", "R p=1 e=42"), 200);
  try {
    await until(() => availability("a").at(-1) === "online", "a back online");
  } finally {
    clearInterval(meter);
  }
  // Offline when it was unloaded (and again as the new device starts, until the meter is heard), then online.
  const seen = availability("a");
  expect(seen).toContain("offline");
  expect(seen.lastIndexOf("online")).toBeGreaterThan(seen.indexOf("offline"));
  expect(seen.at(-1)).toBe("online");
  expect(availability("b")).not.toContain("offline"); // never restarted (its Device is the same object, above)
  await user.next(
    "hearth/test/a",
    json((s) => s.energy === 42),
  );
  expect(service.catalogue.definition("meter-a")?.entities.map((e) => e.key)).toEqual(["power", "energy"]);
});

test("a reload with a broken model file is refused, naming the file and the path; the last good models and devices stay", async () => {
  const { service, user, ask, paths, logs } = await running([{ id: "a", model: "meter-a" }], { "a.yaml": lineModel("meter-a") });
  const catalogue = service.catalogue;
  const device = service.devices.device("a");
  const since = user.received.length;
  writeFileSync(paths["a.yaml"]!, lineModel("meter-a", { entities: ["- { key: power, kind: sensor, read: p, unti: W }"] }));
  const reply = await ask("config/reload");
  expect(reply.status).toBe("error");
  expect(reply.error).toContain(`configuration refused, the last good one stays in force: ${paths["a.yaml"]}: entities[0].unti: unknown key (did you mean "unit"?)`);
  expect(logs.find("Configuration reload refused")[0]?.problems).toEqual([`${paths["a.yaml"]}: entities[0].unti: unknown key (did you mean "unit"?)`]);
  expect(service.catalogue).toBe(catalogue);
  expect(service.devices.device("a")).toBe(device!);
  expect(user.received.slice(since).filter((m) => m.topic === "hearth/test/a/availability")).toEqual([]);
  // Removed while a device uses it: refused too, the device's model being unknown.
  rmSync(paths["a.yaml"]!);
  const removed = await ask("config/reload");
  expect(removed.error).toContain('devices[0].model: unknown model "meter-a"');
  expect(service.devices.device("a")?.available).toBe(true);
});

test("device/reload leaves a changed model file to config/reload, and says so", async () => {
  const { service, ask, paths, user } = await running([{ id: "a", model: "meter-a" }], { "a.yaml": lineModel("meter-a") });
  writeFileSync(paths["a.yaml"]!, lineModel("meter-a", { entities: [POWER, ENERGY] }));
  const transaction = "dr-1";
  const reply = user.json<Reply>("hearth/test/bridge/response/device/reload", (r) => r.transaction === transaction);
  await user.publish("hearth/test/bridge/request/device/reload", JSON.stringify({ id: "a", transaction }));
  expect((await reply).error).toContain("its model meter-a is not the one in force (its model file changed or is new): config/reload reads the model files");
  expect((await ask("config/reload")).data.reloaded).toEqual(["a"]);
  expect(service.catalogue.definition("meter-a")?.entities).toHaveLength(2);
});
