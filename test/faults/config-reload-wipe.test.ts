import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSetup } from "../../src/catalogue.ts";
import { checkConfigCommand } from "../../src/commands/check-config.ts";
import { OutputReader } from "../helpers/output-reader.ts";
import { broker, cleanUpAfterEach, configFile, hearth, json, peer, yaml } from "../mqtt/helpers.ts";

// Issue 12, defect 4: `: > hearth.yaml; kill -HUP` (or the file cut to its first line, as a crashed editor
// or a full disk leaves it) removed every device and cleared their Home Assistant discovery, and the log
// said the mqtt settings had changed.

cleanUpAfterEach();

type Reply = { status: string; data: Record<string, unknown>; error?: string; transaction?: unknown };

const root = join(import.meta.dir, "../..");
const DISCOVERY = "homeassistant/device/test_board/config";

/** hearth as a user runs it: its own process, JSON log lines on stdout. */
function runHearth(config: string) {
  const data = mkdtempSync(join(tmpdir(), "hearth-faults-"));
  const proc = Bun.spawn([process.execPath, join(root, "src/cli.ts"), "run", "--config", config], {
    env: { ...process.env, HEARTH_DATA_DIR: data, HEARTH_LOG_FORMAT: "json" },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const out = new OutputReader(proc.stdout);
  const stop = async () => {
    proc.kill("SIGTERM");
    await proc.exited;
    rmSync(data, { recursive: true, force: true });
  };
  const messages = () =>
    out.text
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { level: string; msg: string });
  return { proc, out, stop, messages };
}

async function ask(user: Awaited<ReturnType<typeof peer>>, command: string, body: object = {}): Promise<Reply> {
  const transaction = `${command}-${Math.random()}`;
  const reply = user.json<Reply>(`hearth/test/bridge/response/${command}`, (r) => r.transaction === transaction);
  await user.publish(`hearth/test/bridge/request/${command}`, JSON.stringify({ ...body, transaction }));
  return reply;
}

test("an emptied hearth.yaml on SIGHUP is refused: the devices keep running and their discovery stays", async () => {
  const b = await broker();
  const user = await peer(b.url);
  const file = configFile(yaml(b.url));
  const hearthProcess = runHearth(file.path);
  try {
    await user.next("hearth/test/board/availability", (p) => p === "online", 20_000);
    await user.next(DISCOVERY, (p) => p.length > 0);
    file.write(""); // : > hearth.yaml
    hearthProcess.proc.kill("SIGHUP");
    await hearthProcess.out.waitFor(/Configuration reload refused|Devices reloaded/);
    const refused = hearthProcess.messages().find((m) => m.msg.startsWith("Configuration reload refused"));
    expect(refused?.level).toBe("error");
    expect(refused?.msg).toContain("devices: []");
    // A reload that is accepted afterwards shows the board was never removed: its discovery was never cleared.
    file.write(yaml(b.url, ["board", "other"]));
    hearthProcess.proc.kill("SIGHUP");
    await user.next("homeassistant/device/test_other/config", (p) => p.length > 0, 20_000);
    expect(user.received.filter((m) => m.topic.includes("/test_board/") && m.payload === "")).toEqual([]);
    expect(hearthProcess.out.text).not.toContain("mqtt settings changed");
  } finally {
    await hearthProcess.stop();
  }
});

test("a file cut to its first line is refused by config/reload with the reason, and nothing is said about mqtt", async () => {
  const b = await broker();
  const user = await peer(b.url);
  const file = configFile(yaml(b.url, ["board", "other"]));
  const { service, logs } = await hearth(file);
  await user.next("hearth/test/board/availability", (p) => p === "online");
  file.write("node_id: test\n");
  const reply = await ask(user, "config/reload");
  expect(reply.status).toBe("error");
  expect(reply.error).toContain("would remove every device (board, other)");
  expect(reply.error).toContain("devices: []");
  expect([...service.devices.entries.keys()]).toEqual(["board", "other"]);
  expect(service.devices.device("board")?.available).toBe(true);
  expect(logs.find("Configuration reload refused")).toHaveLength(1);
  expect(logs.lines.some((l) => String(l.msg).includes("mqtt settings changed"))).toBe(false);
});

test("devices: [] written in the file removes every device, as asked", async () => {
  const b = await broker();
  const user = await peer(b.url);
  const file = configFile(yaml(b.url));
  const { service } = await hearth(file);
  await user.next(DISCOVERY, (p) => p.length > 0);
  file.write(`${yaml(b.url).replace(/devices:\n[\s\S]*$/, "")}devices: []\n`);
  const reply = await ask(user, "config/reload");
  expect(reply).toMatchObject({ status: "ok", data: { removed: ["board"] } });
  expect(reply.data.notes).toBeUndefined();
  expect(service.devices.entries.size).toBe(0);
  await user.next(DISCOVERY, (p) => p === ""); // its discovery is cleared: it is gone on purpose
});

test("a changed node_id is reported as needing a restart, and not applied", async () => {
  const b = await broker();
  const user = await peer(b.url);
  const file = configFile(yaml(b.url));
  const { service } = await hearth(file);
  await user.next("hearth/test/board/availability", (p) => p === "online");
  file.write(yaml(b.url, ["board", "other"]).replace("node_id: test", "node_id: elsewhere"));
  const reply = await ask(user, "config/reload");
  expect(reply).toMatchObject({ status: "ok", data: { added: ["other"] } });
  expect(reply.data.notes).toEqual(["node_id changed (test → elsewhere): it takes effect when hearth restarts"]);
  expect(service.config.node_id).toBe("test");
  await user.next("hearth/test/other/availability", (p) => p === "online"); // under the node it runs as
  expect(service.devices.entities.has("switch.other_relay1")).toBe(true);
});

test("an mqtt section that says the same thing in other words is no change; a real change names its keys", async () => {
  const b = await broker();
  const user = await peer(b.url);
  const file = configFile(yaml(b.url));
  const { service } = await hearth(file);
  await user.next(
    "hearth/test/board",
    json((s) => typeof s.temperature === "number"),
  );
  // hearth/test is the default base topic of node test, and max_payload 1024 is what it was.
  file.write(yaml(b.url).replace("  base_topic: hearth/test\n", "").replace("max_payload: 1024", "max_payload: 1024\n  discovery: { enabled: true }"));
  const same = await ask(user, "config/reload");
  expect(same.status).toBe("ok");
  expect(same.data.notes).toBeUndefined();
  file.write(yaml(b.url).replace("max_payload: 1024", "max_payload: 2048\n  keepalive: 30"));
  const changed = await ask(user, "config/reload");
  expect(changed.data.notes).toEqual(["mqtt settings changed (keepalive, max_payload): they take effect when hearth restarts (the bridge keeps its current connection)"]);
  expect(service.config.mqtt.max_payload).toBe(1024);
});

test("a file without devices at start-up still starts hearth (an empty one too), with none, and the log says the file named none", async () => {
  const b = await broker();
  const user = await peer(b.url);
  const file = configFile(`node_id: test\nmqtt:\n  url: ${b.url}\n`);
  const { service, logs } = await hearth(file);
  await user.next("hearth/test/bridge/state", (p) => p === "online");
  expect(service.devices.entries.size).toBe(0);
  const warned = logs.find("names no devices");
  expect(warned).toHaveLength(1);
  expect(warned[0]?.level).toBe("warn");
});

test("check-config calls a file without devices valid, and says it names none", async () => {
  const file = configFile("");
  const printed: string[] = [];
  const code = await checkConfigCommand(file.path, loadSetup, { out: (t) => printed.push(t), err: (t) => printed.push(t) });
  expect(code).toBe(0);
  expect(printed.join("")).toContain("devices: 0 (the file has no devices key: is it empty or cut short? write devices: [] to mean none)");
  file.write("devices: []\n");
  printed.length = 0;
  await checkConfigCommand(file.path, loadSetup, { out: (t) => printed.push(t), err: (t) => printed.push(t) });
  expect(printed.join("")).toContain("  devices: 0\n");
});
