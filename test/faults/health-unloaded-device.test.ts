import { expect, test } from "bun:test";
import { chmodSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { layoutOf, waitHealthy } from "../../deploy/lib/board.ts";
import { Ssh } from "../../deploy/lib/ssh.ts";
import { builtInCatalogue } from "../../src/catalogue.ts";
import { HEALTH_EXIT, healthCommand } from "../../src/commands/health.ts";
import { loadCheckedConfig } from "../../src/config/load.ts";
import { openPty } from "../../src/serial/pty.ts";
import { broker, cleanUpAfterEach, configFile, hearth, peer, yaml } from "../mqtt/helpers.ts";

// Issue 12, defect 5: one device on a missing port showed `setup_retry`, yet `hearth health` said healthy
// and exited 0, so deploy/deploy's health check would pass a release that cannot open its devices.

cleanUpAfterEach();

const root = join(import.meta.dir, "../..");
const MISSING = `/dev/ttyHEARTH-missing-${process.pid}`;

/** The test config plus one hearth-io board on `port`. */
function withDevice(url: string, id: string, port: string, extra = ""): string {
  return `${yaml(url)}  - id: ${id}\n    model: hearth-io\n    port: ${port}\n${extra}`;
}

async function running(text: (url: string) => string) {
  const b = await broker();
  const user = await peer(b.url);
  const file = configFile(text(b.url));
  const { service } = await hearth(file);
  await user.next("hearth/test/board/availability", (p) => p === "online");
  return { b, user, file, service };
}

async function health(path: string, options: { graceS?: number; json?: boolean } = {}) {
  const printed: string[] = [];
  const code = await healthCommand(await loadCheckedConfig(path, builtInCatalogue().names()), { out: (t) => printed.push(t), err: (t) => printed.push(t) }, options);
  return { code, text: printed.join("") };
}

test("a configured device that cannot be loaded makes hearth health unhealthy, saying which and why", async () => {
  const { file, service } = await running((url) => withDevice(url, "broken", MISSING));
  expect(service.devices.entries.get("broken")?.state).toBe("setup_retry");
  const { code, text } = await health(file.path, { graceS: 0 });
  expect(code).toBe(HEALTH_EXIT.unhealthy);
  expect(text).toMatch(/^hearth \S+ on test: UNHEALTHY, /);
  expect(text).toContain("  board                available\n");
  expect(text).toMatch(new RegExp(`  broken +not loaded \\(setup_retry\\): .*${MISSING}`));
  const json = JSON.parse((await health(file.path, { graceS: 0, json: true })).text);
  expect(json).toMatchObject({ healthy: false, status: "unhealthy", devices: { broken: { state: "setup_retry", available: false, healthy: false } } });
  expect(json.problems).toEqual([expect.stringMatching(/^broken: not loaded \(setup_retry\): /)]);
});

test("within its start-up grace a device not yet up makes health say starting, which is not healthy either", async () => {
  const { file } = await running((url) => withDevice(url, "broken", MISSING));
  const { code, text } = await health(file.path); // the default grace: 30 s, and hearth has just started
  expect(code).toBe(HEALTH_EXIT.starting);
  expect(text).toMatch(/^hearth \S+ on test: starting \(not healthy yet\), /);
  expect(text).toMatch(/ {2}broken +not loaded \(setup_retry\): .*; \d+ s of its start-up grace left/);
});

test("a device that is loaded but never answers is unhealthy after its grace", async () => {
  const pty = openPty(); // a port that opens but where no device answers
  try {
    const { file, service } = await running((url) => withDevice(url, "silent", pty.path, "    timeout: 0.2\n    poll_interval: 0.5\n"));
    expect(service.devices.entries.get("silent")?.state).toBe("loaded");
    const { code, text } = await health(file.path, { graceS: 0 });
    expect(code).toBe(HEALTH_EXIT.unhealthy);
    expect(text).toMatch(/ {2}silent +not available: /);
  } finally {
    await pty.close();
  }
});

test("the health request keeps its reply's shape and adds the status, the problems and each device's", async () => {
  const { user } = await running((url) => withDevice(url, "broken", MISSING));
  const reply = user.json<{ status: string; data: Record<string, unknown> }>("hearth/test/bridge/response/health", (r) => (r as { transaction?: string }).transaction === "h1");
  await user.publish("hearth/test/bridge/request/health", JSON.stringify({ transaction: "h1", grace: 0 }));
  const { status, data } = await reply;
  expect(status).toBe("ok");
  expect(data).toMatchObject({ healthy: false, status: "unhealthy", grace_s: 0, mqtt: { connected: true }, devices: { board: { state: "loaded", available: true, healthy: true } } });
  expect(Object.keys(data)).toEqual(expect.arrayContaining(["version", "node", "uptime_s", "devices", "messages", "problems"]));
});

test("deploy's health wait does not pass a release whose device cannot open, and says which", async () => {
  // deploy/lib/board.ts runs `<current>/hearth health --json --config <etc config>` over ssh; here a
  // local shell stands in for ssh (the deploy tests run real sshd), and <current>/hearth runs this checkout.
  const { file } = await running((url) => withDevice(url, "broken", MISSING));
  const board = configFile("");
  const layout = layoutOf(board.dir);
  mkdirSync(join(board.dir, "opt/hearth/releases/1.0.0"), { recursive: true });
  mkdirSync(join(board.dir, "etc/hearth"), { recursive: true });
  symlinkSync("releases/1.0.0", layout.current);
  const launcher = join(board.dir, "opt/hearth/releases/1.0.0/hearth");
  await Bun.write(launcher, `#!/bin/sh\nexec ${process.execPath} ${join(root, "src/cli.ts")} "$@"\n`);
  chmodSync(launcher, 0o755);
  await Bun.write(layout.etcConfig, Bun.file(file.path));
  const local = new (class extends Ssh {
    override async run(script: string) {
      const proc = Bun.spawn(["sh", "-c", script], { stdout: "pipe", stderr: "pipe" });
      const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
      return { code, stdout, stderr };
    }
  })({ destination: { host: "localhost" }, settings: { connectTimeoutS: 1, options: [], acceptNewHostKeys: false } });
  const { VERSION } = await import("../../src/version.ts");
  const waited = await waitHealthy(local, layout, VERSION, 2).then(
    () => "passed",
    (err: Error) => err.message,
  );
  expect(waited).toMatch(/^hearth health did not pass within 2 s \(last: (starting|unhealthy), version \S+: broken: not loaded \(setup_retry\)/);
});
