import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OutputReader } from "../helpers/output-reader.ts";
import { broker, cleanUpAfterEach, configFile, json, peer, yaml } from "../mqtt/helpers.ts";

// Issue 12: at `log_level: trace` nothing was logged at trace level. Now every MQTT message that
// arrives on hearth's topics is, with its topic, size, retain flag and the start of its payload.

cleanUpAfterEach();

const root = join(import.meta.dir, "../..");

async function run(level: string) {
  const b = await broker();
  const user = await peer(b.url);
  const file = configFile(yaml(b.url).replace("node_id: test\n", `node_id: test\nlog_level: ${level}\n`));
  const data = mkdtempSync(join(tmpdir(), "hearth-faults-"));
  const proc = Bun.spawn([process.execPath, join(root, "src/cli.ts"), "run", "--config", file.path], {
    env: { ...process.env, HEARTH_DATA_DIR: data, HEARTH_LOG_FORMAT: "json" },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "ignore",
  });
  const out = new OutputReader(proc.stdout);
  try {
    await user.next(
      "hearth/test/board",
      json((s) => s.relay1 === "OFF"),
      20_000,
    );
    await user.publish("hearth/test/board/set/relay1", "ON");
    await user.next(
      "hearth/test/board",
      json((s) => s.relay1 === "ON"),
    );
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
    rmSync(data, { recursive: true, force: true });
  }
  return (await out.done)
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

test("at log_level trace every inbound MQTT message is logged at trace, with its topic and payload", async () => {
  const lines = await run("trace");
  const traced = lines.filter((l) => l.level === "trace" && l.topic === "hearth/test/board/set/relay1");
  expect(traced).toHaveLength(1);
  expect(traced[0]).toMatchObject({ msg: "Received hearth/test/board/set/relay1", bytes: 2, retained: false, payload: "ON" });
});

test("at log_level debug nothing is logged at trace", async () => {
  const lines = await run("debug");
  expect(lines.some((l) => String(l.msg).startsWith("hearth is running"))).toBe(true);
  expect(lines.filter((l) => l.level === "trace")).toEqual([]);
});
