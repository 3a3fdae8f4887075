// Issue 19: `hearth fleet` against three hearth processes with their own node ids on one real Mosquitto,
// each with a simulated board (`port: sim`). The command is run as a user runs it (`bun src/cli.ts fleet`),
// and what it prints and its exit code are what a cron job or a monitoring check would read.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { VERSION } from "../../src/version.ts";
import { cleanUpProcessesAfterEach, HearthProcess, tempDir } from "../faults/outbox-process.ts";
import { boardConfig, eventually, type FleetRun, runFleetWith } from "../helpers/fleet-cli.ts";
import { until } from "../helpers/until.ts";
import { MOSQUITTO, startBroker, type TestBroker } from "../mqtt/broker.ts";

cleanUpProcessesAfterEach();

const ROOT = join(import.meta.dir, "..", "..");

/** `hearth fleet` with a config naming the broker (as on the machine a user runs it from: no --broker), and `args`. */
async function fleet(dir: string, url: string, ...args: string[]): Promise<FleetRun> {
  const config = join(dir, "fleet.yaml");
  await Bun.write(config, `node_id: desk\nmqtt:\n  url: ${url}\n`);
  return runFleetWith(config, args);
}

/** The table's row of `node`, split on its column gaps. */
function row(stdout: string, node: string): string[] {
  const line = stdout.split("\n").find((l) => l.startsWith(`${node} `));
  if (line === undefined) throw new Error(`no row for ${node} in:\n${stdout}`);
  return line.split(/\s{2,}/);
}

async function startBoard(dir: string, node: string, url: string, devices?: string): Promise<HearthProcess> {
  const home = join(dir, node);
  await Bun.write(join(home, ".keep"), "");
  return HearthProcess.start(home, boardConfig(node, url, devices), home);
}

test.skipIf(MOSQUITTO === null)(
  "three boards, one killed: hearth fleet shows two online and one offline and exits 1; restarted, it exits 0",
  async () => {
    const broker: TestBroker = await startBroker();
    try {
      const dir = tempDir("hearth-fleet-");
      const boards = new Map<string, HearthProcess>();
      for (const node of ["barn", "greenhouse", "shed"]) boards.set(node, await startBoard(dir, node, broker.url));

      // Each board's bridge topics are retained: once its simulated board is up, the fleet is all well.
      let run: FleetRun = { code: -1, stdout: "", stderr: "" };
      await eventually(async () => (run = await fleet(dir, broker.url)).code === 0, "every board online with its device available", 30_000);
      for (const node of ["barn", "greenhouse", "shed"]) {
        const [name, state, since, version, uptime, devices, lag, outbox, where] = row(run.stdout, node);
        expect({ name, state, version, devices, where }).toEqual({ name: node, state: "online", version: VERSION, devices: "1/1", where: broker.url.replace("mqtt://", "") });
        // What waited to go out when the board last said its info (its first hello may have).
        expect(outbox).toMatch(/^\d+$/);
        expect(since).toMatch(/^\d+s ago$|^\d+m \d+s ago$/);
        expect(uptime).toMatch(/^\d+s$|^\d+m \d+s$/);
        expect(lag).toMatch(/^\d+\.\d ms$/);
      }
      expect(run.stdout).toContain("3 node(s): 3 online; all well");

      // A board dies (its will says offline): the others are still online, and the check fails.
      await boards.get("greenhouse")!.kill();
      await eventually(async () => (run = await fleet(dir, broker.url)).code === 1, "greenhouse seen offline", 15_000);
      expect(row(run.stdout, "greenhouse")[1]).toBe("offline");
      expect(row(run.stdout, "barn")[1]).toBe("online");
      expect(row(run.stdout, "shed")[1]).toBe("online");
      expect(run.stdout).toContain("3 node(s): 2 online, 1 not; 1 not all well");
      expect(run.stdout).toMatch(/ {2}greenhouse: offline \(last heard \d+s ago\)/);
      // The same as JSON, for a script.
      const json = await fleet(dir, broker.url, "--json");
      expect(json.code).toBe(1);
      const report = JSON.parse(json.stdout) as { all_well: boolean; nodes: Array<{ node: string; state: string; problems: string[]; devices: unknown }> };
      expect(report.all_well).toBe(false);
      expect(report.nodes.map((n) => [n.node, n.state])).toEqual([
        ["barn", "online"],
        ["greenhouse", "offline"],
        ["shed", "online"],
      ]);
      expect(report.nodes[1]!.problems).toEqual(["offline"]);
      expect(report.nodes[0]!.devices).toEqual({ configured: 1, available: 1, unavailable: [] });

      // Started again: all well again.
      boards.set("greenhouse", await startBoard(dir, "greenhouse", broker.url));
      await eventually(async () => (run = await fleet(dir, broker.url)).code === 0, "greenhouse back", 30_000);
      expect(row(run.stdout, "greenhouse")[1]).toBe("online");

      // A fourth board whose device is on a port that is not there: online, but not all well, and named.
      const missing = `/dev/ttyHEARTH-fleet-missing-${process.pid}`;
      await startBoard(dir, "cellar", broker.url, `  - { id: meter, model: hearth-io, port: ${missing} }\n`);
      await eventually(async () => (run = await fleet(dir, broker.url)).stdout.includes("cellar "), "cellar listed", 15_000);
      expect(run.code).toBe(1);
      expect(row(run.stdout, "cellar").slice(1, 2)).toEqual(["online"]);
      expect(row(run.stdout, "cellar")[5]).toBe("0/1");
      expect(run.stdout).toContain("  cellar: unavailable: meter");
    } finally {
      await broker.stop();
    }
  },
  120_000,
);

test.skipIf(MOSQUITTO === null)(
  "hearth fleet --watch --json says each change as it comes, comes back after the broker was away, and ends on Ctrl-C",
  async () => {
    const broker = await startBroker();
    try {
      const dir = tempDir("hearth-fleet-watch-");
      const barn = await startBoard(dir, "barn", broker.url);
      await eventually(async () => (await fleet(dir, broker.url)).code === 0, "barn all well", 30_000);
      const config = join(dir, "fleet.yaml");
      const child = Bun.spawn([process.execPath, join(ROOT, "src/cli.ts"), "fleet", "--config", config, "--watch", "--json"], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
      let text = "";
      let errors = "";
      const read = async (stream: ReadableStream<Uint8Array>, into: (s: string) => void) => {
        const decoder = new TextDecoder();
        for await (const chunk of stream) into(decoder.decode(chunk, { stream: true }));
      };
      const reading = Promise.all([read(child.stdout, (s) => (text += s)), read(child.stderr, (s) => (errors += s))]);
      const reports = () =>
        text
          .split("\n")
          .filter((l) => l.startsWith("{"))
          .map((l) => JSON.parse(l) as { all_well: boolean; nodes: Array<{ node: string; state: string }> });
      await until(() => reports().length >= 1, "the first report");
      expect(reports()[0]!.all_well).toBe(true);

      // The broker restarted (with nothing retained: no persistence): hearth and the watch both come back.
      await broker.kill();
      await until(() => errors.includes(`hearth fleet: lost the broker ${broker.url}; connecting again`), "the watch saying it lost the broker");
      const before = reports().length;
      await broker.restart();
      await until(
        () =>
          reports()
            .slice(before)
            .some((r) => r.all_well && r.nodes.some((n) => n.node === "barn" && n.state === "online")),
        "barn online again in a report after the broker's return",
        30_000,
      );

      await barn.kill();
      await until(() => reports().some((r) => r.nodes.some((n) => n.node === "barn" && n.state === "offline")), "barn offline in a later report", 15_000);
      expect(reports().at(-1)!.all_well).toBe(false);
      child.kill("SIGINT");
      // Its exit code is the last verdict: barn is offline.
      expect(await child.exited).toBe(1);
      await reading;
    } finally {
      await broker.stop();
    }
  },
  90_000,
);

test.skipIf(MOSQUITTO === null)("hearth fleet with no board on the broker exits 1 and says so; with no broker, 3 naming it; a bad --broker is a usage error", async () => {
  const broker = await startBroker();
  const dir = tempDir("hearth-fleet-empty-");
  try {
    const empty = await fleet(dir, broker.url);
    expect(empty.code).toBe(1);
    expect(empty.stdout).toBe("no hearth has published under hearth/+/bridge/ on this broker\n");
    // Named in deploy's fleet file but never on the broker: listed, missing, and not all well.
    const boards = join(dir, "boards.yaml");
    await Bun.write(boards, "hosts:\n  - host: pi@attic.local\n    node: attic\n  - pi@cellar.local\n");
    const named = await fleet(dir, broker.url, "--fleet", boards);
    expect(named.code).toBe(1);
    expect(row(named.stdout, "attic").slice(0, 2)).toEqual(["attic", "missing"]);
    expect(named.stdout).toContain("  attic: nothing on the broker: never connected to it?");
    expect(named.stderr).toContain(`hearth fleet: no node given for pi@cellar.local in ${boards}; listed only if found`);
    const unreadable = await fleet(dir, broker.url, "--fleet", join(dir, "no-such-fleet.yaml"));
    expect(unreadable.code).toBe(2);
    expect(unreadable.stderr).toContain("cannot read fleet file");
  } finally {
    await broker.stop();
  }
  // The broker is gone now: its port is closed.
  const none = await fleet(dir, broker.url);
  expect(none.code).toBe(3);
  const { port } = new URL(broker.url);
  expect(none.stderr).toContain(`hearth fleet: cannot reach the broker at 127.0.0.1:${port}`);
  const bad = await fleet(dir, broker.url, "--broker", "mqtt//user:secret@host");
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("--broker: expected a broker URL");
  expect(bad.stderr).not.toContain("secret");
});
