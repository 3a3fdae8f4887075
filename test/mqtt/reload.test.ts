import { expect, test } from "bun:test";
import { mqttNeedsRestart } from "../../src/config/reload.ts";
import { broker, cleanUpAfterEach, configFile, hearth, json, peer, yaml } from "./helpers.ts";

cleanUpAfterEach();

type Reply = { status: string; data: Record<string, unknown>; error?: string; transaction?: unknown };

async function running() {
  const b = await broker();
  const user = await peer(b.url);
  const file = configFile(yaml(b.url, ["board", "other"]));
  const { service, logs } = await hearth(file);
  for (const id of ["board", "other"]) await user.next(`hearth/test/${id}/availability`, (p) => p === "online");
  await user.next(
    "hearth/test/board",
    json((s) => typeof s.temperature === "number"),
  );
  const ask = async (command: string, body: unknown = {}): Promise<Reply> => {
    const transaction = `${command}-${Math.random()}`;
    const reply = user.json<Reply>(`hearth/test/bridge/response/${command}`, (r) => r.transaction === transaction);
    await user.publish(`hearth/test/bridge/request/${command}`, JSON.stringify({ ...(body as object), transaction }));
    return reply;
  };
  return { b, user, service, logs, file, ask };
}

/** The config text with one device's simulator interval changed. */
function withInterval(text: string, id: string, interval: number): string {
  return text.replace(`id: ${id}\n    model: hearth-io\n    port: sim\n    options: { interval: 60000 }`, `id: ${id}\n    model: hearth-io\n    port: sim\n    options: { interval: ${interval} }`);
}

const interval = (service: { config: { devices: Array<{ id: string; options: Record<string, unknown> }> } }, id: string) => service.config.devices.find((d) => d.id === id)?.options.interval;

test("device/reload reads that device's entry from the file again; the other devices are left alone", async () => {
  const { b, service, file, ask } = await running();
  const other = service.devices.device("other");
  file.write(withInterval(withInterval(yaml(b.url, ["board", "other"]), "board", 30_000), "other", 45_000));
  const reply = await ask("device/reload", { id: "board" });
  expect(reply).toMatchObject({ status: "ok", data: { id: "board", state: "loaded", changed: true } });
  expect(interval(service, "board")).toBe(30_000);
  expect(interval(service, "other")).toBe(60_000); // changed in the file too, but not asked for
  expect(service.devices.device("other")).toBe(other!);
  expect(service.devices.entries.get("board")?.config.options.interval).toBe(30_000);
});

test("device/reload with an unchanged entry sets the device up again; device/restart does not read the file", async () => {
  const { b, service, file, ask } = await running();
  const before = service.devices.device("board");
  expect(await ask("device/reload", { id: "board" })).toMatchObject({ status: "ok", data: { changed: false, state: "loaded" } });
  expect(service.devices.device("board")).not.toBe(before!);
  file.write(withInterval(yaml(b.url, ["board", "other"]), "board", 30_000));
  expect(await ask("device/restart", { id: "board" })).toMatchObject({ status: "ok", data: { state: "loaded" } });
  expect(interval(service, "board")).toBe(60_000);
  expect(service.devices.entries.get("board")?.config.options.interval).toBe(60_000);
});

test("device/reload refuses a broken file or a device no longer in it, and the device keeps running", async () => {
  const { b, service, file, ask } = await running();
  file.write("node_id: test\ndevices: 12\n");
  const broken = await ask("device/reload", { id: "board" });
  expect(broken.status).toBe("error");
  expect(broken.error).toContain("board not reloaded: the configuration is refused: devices");
  file.write(yaml(b.url, ["other"]));
  expect((await ask("device/reload", { id: "board" })).error).toContain("no longer in the configuration");
  expect(service.devices.device("board")?.available).toBe(true);
});

test("a config/reload that changes mqtt settings applies the devices and says mqtt needs a restart", async () => {
  const { b, service, file, ask } = await running();
  file.write(yaml(b.url, ["board", "other"]).replace("max_payload: 1024", "max_payload: 2048").replace("id: other\n", "id: third\n"));
  const reply = await ask("config/reload");
  expect(reply).toMatchObject({ status: "ok", data: { added: ["third"], removed: ["other"], notes: [mqttNeedsRestart(["max_payload"])] } });
  expect(service.config.mqtt.max_payload).toBe(1024); // the settings the bridge runs with
  expect(service.bridge?.connection?.connected).toBe(true);
  // Without an mqtt change there is no note.
  file.write(yaml(b.url, ["board", "third"]));
  const again = await ask("config/reload");
  expect(again).toMatchObject({ status: "ok", data: { added: [], removed: [] } });
  expect(again.data.notes).toBeUndefined();
});
