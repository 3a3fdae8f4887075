/**
 * deploy/deploy against real OpenSSH servers (Debian's openssh-server) on loopback ports, deploying
 * real built binaries (test/deploy/binary.ts) that really run and answer `hearth health` over a real
 * Mosquitto. Each "board" is a root prefix in a temporary folder (`--root`), reached through one of the
 * sshd's.
 *
 * Stand-ins, and only these: no systemd runs here, so the service manager deploy calls is
 * test/deploy/fixtures/supervisor (installed on each board as <root>/sbin/hearth-supervisor), which
 * really starts and stops the installed binary; and since no arm64 or armv7 sshd can run here, the
 * wrong-architecture boards get a `uname` script first on their PATH (the fleet file's `path`), which
 * deploy's architecture check then reads as `uname -m` does on a real board.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { releasesToRemove } from "../../deploy/lib/board.ts";
import { readFleet } from "../../deploy/lib/fleet.ts";
import { archOf, parseSums } from "../../deploy/lib/release.ts";
import { parseDestination } from "../../deploy/lib/ssh.ts";
import { runFleetWith } from "../helpers/fleet-cli.ts";
import { buildFirmware, buildOptiboot, type EmulatedBoard, startEmulator } from "../helpers/simavr.ts";
import { freePort, startBroker, type TestBroker } from "../mqtt/broker.ts";
import { builtRelease } from "./binary.ts";
import { type Board, current, fakeUname, flash, fleetEntry, health, makeBoard, releases, runningPid, snapshot, stopBoard, writeConfig } from "./fixtures/boards.ts";
import { type SshClient, type SshServer, sshClient, startSshServer } from "./fixtures/ssh-server.ts";

const REPO = join(import.meta.dir, "..", "..");
const DEPLOY = join(REPO, "deploy", "deploy");
const VERSIONS = ["1.0.0-a", "1.0.0-b", "1.0.0-c", "1.0.0-d"] as const;
const [A, B, C, D] = VERSIONS;
/** A deploy uploads ~110 MB and restarts a service: generous, for a loaded CI machine. */
const DEPLOY_TIMEOUT = 150_000;

let tmp: string;
let dist: string;
let client: SshClient;
let broker: TestBroker;
const servers: SshServer[] = [];
const boards: Board[] = [];

/** A board of this file's run, stopped after it. */
function newBoard(name: string, server: SshServer, mqttUrl = broker.url): Board {
  const b = makeBoard(tmp, name, server, mqttUrl);
  boards.push(b);
  return b;
}

/** The options that point deploy at one board. */
function boardArgs(board: Board): string[] {
  return ["--root", board.root, "--service-cmd", board.supervisor, "--config", board.config, board.server.destination];
}

/** Runs deploy/deploy with the test's ssh config and dist folder; output is not a terminal, so plain lines. */
async function deploy(args: string[]): Promise<{ code: number; out: string }> {
  const proc = Bun.spawn([DEPLOY, "--ssh-config", client.configFile, "--dist", dist, "--health-timeout", "60", ...args], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, out: stdout + stderr };
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "hearth-deploy-test-"));
  dist = join(tmp, "dist");
  mkdirSync(dist);
  // The releases deploy installs, as deploy/build lays them out: linked into one dist folder.
  const built = await Promise.all(VERSIONS.map((v) => builtRelease("x64", v)));
  for (const release of built) {
    symlinkSync(release.binary, join(dist, `hearth-${release.version}-linux-x64`));
    copyFileSync(release.sha256File, join(dist, `hearth-${release.version}.sha256`));
  }
  client = await sshClient(join(tmp, "client"));
  for (let i = 0; i < 3; i++) servers.push(await startSshServer(join(tmp, `sshd-${i}`), client));
  broker = await startBroker();
}, 240_000);

afterAll(async () => {
  // Reverse order of start: the hearths, then the servers, the broker, the files.
  for (const b of boards) {
    try {
      stopBoard(b);
    } catch {}
  }
  for (const s of servers) await s.stop().catch(() => {});
  await broker?.stop().catch(() => {});
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("deploy/deploy to one board", () => {
  let board: Board;
  beforeAll(() => {
    board = newBoard("board-a", servers[0] as SshServer);
  });

  test(
    "a fresh deploy installs the release, points current at it and starts a healthy hearth",
    async () => {
      const { code, out } = await deploy(["--version", A, ...boardArgs(board)]);
      expect(out).toContain(`none → ${A}`);
      expect(code).toBe(0);
      const release = join(board.root, "opt/hearth/releases", A);
      expect(statSync(join(release, "hearth")).mode & 0o777).toBe(0o755);
      expect(readFileSync(join(release, "hearth.yaml"), "utf8")).toBe(readFileSync(board.config, "utf8"));
      expect(existsSync(join(release, "hearth.part"))).toBe(false);
      expect(current(board)).toBe(`releases/${A}`);
      expect(readlinkSync(join(board.root, "etc/hearth/hearth.yaml"))).toBe(join(board.root, "opt/hearth/current/hearth.yaml"));
      const pid = runningPid(board);
      expect(pid).toBeDefined();
      expect(readlinkSync(`/proc/${pid}/exe`)).toBe(join(release, "hearth"));
      expect(await health(board)).toMatchObject({ code: 0, healthy: true, version: A });
    },
    DEPLOY_TIMEOUT,
  );

  test(
    "an upgrade replaces the running version with the new one",
    async () => {
      const before = runningPid(board);
      const { code, out } = await deploy(["--version", B, ...boardArgs(board)]);
      expect(out).toContain(`${A} → ${B}`);
      expect(code).toBe(0);
      expect(current(board)).toBe(`releases/${B}`);
      const pid = runningPid(board);
      expect(pid).toBeDefined();
      expect(pid).not.toBe(before);
      expect(readlinkSync(`/proc/${pid}/exe`)).toBe(join(board.root, "opt/hearth/releases", B, "hearth"));
      expect(await health(board)).toMatchObject({ code: 0, healthy: true, version: B });
    },
    DEPLOY_TIMEOUT,
  );

  test(
    "--dry-run reads the board and says what it would do, changing nothing",
    async () => {
      const before = snapshot(board.root);
      const pid = runningPid(board);
      const { code, out } = await deploy(["--dry-run", "--version", C, ...boardArgs(board)]);
      expect(code).toBe(0);
      expect(out).toContain("would");
      expect(out).toContain(`roll back to ${B}`);
      expect(out).toMatch(/planned/);
      expect(snapshot(board.root)).toEqual(before);
      expect(runningPid(board)).toBe(pid);
    },
    DEPLOY_TIMEOUT,
  );

  test(
    "a release whose health check fails is rolled back, and the old one runs again, healthy",
    async () => {
      // check-config passes (the URL is well formed) but nothing listens there, so health never passes.
      const broken = writeConfig(tmp, board.name, `mqtt://127.0.0.1:${await freePort()}`, "-closed-port");
      const { code, out } = await deploy(["--version", C, "--health-timeout", "5", "--root", board.root, "--service-cmd", board.supervisor, "--config", broken, board.server.destination]);
      expect(code).toBe(1);
      expect(out).toContain("rolled back");
      expect(out).toContain(`${B} is running again`);
      expect(current(board)).toBe(`releases/${B}`);
      const pid = runningPid(board);
      expect(pid).toBeDefined();
      expect(readlinkSync(`/proc/${pid}/exe`)).toBe(join(board.root, "opt/hearth/releases", B, "hearth"));
      expect(await health(board)).toMatchObject({ code: 0, healthy: true, version: B });
    },
    DEPLOY_TIMEOUT,
  );

  test(
    "a board that answers as another node than the fleet file names it is rolled back, saying both names",
    async () => {
      const fleet = join(tmp, "misnamed-fleet.yaml");
      writeFileSync(fleet, `hosts:\n${fleetEntry(board, "    node: greenhouse\n")}`);
      const { code, out } = await deploy(["--version", C, "--fleet", fleet]);
      expect(code).toBe(1);
      expect(out).toContain(`hearth there answers as node "${board.name.replaceAll("-", "_")}" (its node_id), but the fleet file names it "greenhouse"`);
      expect(out).toContain(`${B} is running again`);
      expect(current(board)).toBe(`releases/${B}`);
      expect(await health(board)).toMatchObject({ code: 0, healthy: true, version: B });
    },
    DEPLOY_TIMEOUT,
  );

  test(
    "after four deploys the last three releases are kept, the current and previous among them",
    async () => {
      const { code } = await deploy(["--version", D, ...boardArgs(board)]);
      expect(code).toBe(0);
      expect(current(board)).toBe(`releases/${D}`);
      expect(releases(board)).toEqual([B, C, D]);
      expect(await health(board)).toMatchObject({ code: 0, healthy: true, version: D });
    },
    DEPLOY_TIMEOUT,
  );
});

describe("deploy/deploy refuses what it cannot do safely", () => {
  test(
    "a board of the wrong architecture is refused before anything on it is changed",
    async () => {
      const arm64 = newBoard("board-arm64", servers[1] as SshServer);
      const armv7 = newBoard("board-armv7", servers[1] as SshServer);
      const fleet = join(tmp, "arch-fleet.yaml");
      writeFileSync(fleet, `hosts:\n${fleetEntry(arm64, `    path: ${fakeUname(arm64, "aarch64")}\n`)}${fleetEntry(armv7, `    path: ${fakeUname(armv7, "armv7l")}\n`)}`);
      const before = [snapshot(arm64.root), snapshot(armv7.root)];
      // dist holds x64 binaries only.
      const { code, out } = await deploy(["--version", A, "--fleet", fleet]);
      expect(code).toBe(1);
      expect(out).toMatch(/refused, nothing changed: the board is aarch64 .*no arm64 binary/);
      expect(out).toMatch(/refused, nothing changed: the board runs a 32-bit ARM system \(armv7l\)/);
      expect([snapshot(arm64.root), snapshot(armv7.root)]).toEqual(before);
      expect(existsSync(join(arm64.root, "opt"))).toBe(false);
    },
    DEPLOY_TIMEOUT,
  );

  test(
    "a host whose key is not in known_hosts fails with a message saying so",
    async () => {
      const untrusted = await startSshServer(join(tmp, "sshd-untrusted"), client, { trusted: false });
      servers.push(untrusted);
      const board = newBoard("board-untrusted", untrusted);
      const before = snapshot(board.root);
      // The plain fleet format: one host a line, comments allowed; settings from the command line.
      const fleet = join(tmp, "untrusted.txt");
      writeFileSync(fleet, `# a board whose host key nobody recorded\n${untrusted.destination}   # the test's sshd\n`);
      const { code, out } = await deploy(["--version", A, "--root", board.root, "--service-cmd", board.supervisor, "--config", board.config, "--fleet", fleet]);
      expect(code).toBe(1);
      expect(out).toContain("host key is not in known_hosts");
      expect(snapshot(board.root)).toEqual(before);
      // Trusting keys seen for the first time has to be asked for; a dry run then reaches the board.
      const trusting = await deploy(["--dry-run", "--accept-new-host-keys", "--version", A, "--root", board.root, "--service-cmd", board.supervisor, "--config", board.config, "--fleet", fleet]);
      expect(trusting.out).toContain("1 of 1 host(s) succeeded");
      expect(trusting.code).toBe(0);
      expect(readFileSync(client.knownHosts, "utf8")).toContain(`[127.0.0.1]:${untrusted.port} ssh-ed25519 `);
    },
    DEPLOY_TIMEOUT,
  );
});

describe("deploy/deploy and a board another deploy is changing", () => {
  test(
    "a board whose deploy lock is held is left alone, with a message naming the holder",
    async () => {
      const locked = newBoard("board-locked", servers[2] as SshServer);
      mkdirSync(join(locked.root, "opt/hearth/.deploy-lock"), { recursive: true });
      writeFileSync(join(locked.root, "opt/hearth/.deploy-lock/owner"), "laptop pid 42\n");
      const before = snapshot(locked.root);
      const { code, out } = await deploy(["--version", A, ...boardArgs(locked)]);
      expect(code).toBe(1);
      expect(out).toContain("another deploy is changing this board (held by laptop pid 42)");
      expect(snapshot(locked.root)).toEqual(before);
    },
    DEPLOY_TIMEOUT,
  );
});

describe("deploy/deploy interrupted", () => {
  test(
    "Ctrl-C during an upload switches no board, and starts no other",
    async () => {
      const first = newBoard("board-interrupted", servers[2] as SshServer);
      const second = newBoard("board-not-started", servers[0] as SshServer);
      const fleet = join(tmp, "interrupted.yaml");
      writeFileSync(fleet, `hosts:\n${fleetEntry(first)}${fleetEntry(second)}`);
      const before = snapshot(second.root);
      const proc = Bun.spawn([DEPLOY, "--ssh-config", client.configFile, "--dist", dist, "--version", A, "--parallel", "1", "--fleet", fleet], { stdout: "pipe", stderr: "pipe" });
      let out = "";
      let interrupted = false;
      const decoder = new TextDecoder();
      for await (const chunk of proc.stdout) {
        out += decoder.decode(chunk);
        if (!interrupted && out.includes("uploading x64 binary")) {
          interrupted = true;
          proc.kill("SIGINT");
        }
      }
      expect(await proc.exited).toBe(1);
      expect(out).toContain("interrupted before switching");
      expect(out).toMatch(/not started: interrupted/);
      expect(existsSync(join(first.root, "opt/hearth/current"))).toBe(false);
      expect(runningPid(first)).toBeUndefined();
      expect(snapshot(second.root)).toEqual(before);
    },
    DEPLOY_TIMEOUT,
  );
});

describe("deploy/deploy to a fleet: three boards and an unreachable host, --parallel 2", () => {
  let three: Board[];
  let closed: number;
  let run: { code: number; out: string };
  let logStart: number[];

  beforeAll(async () => {
    three = [0, 1, 2].map((i) => newBoard(`board-fleet-${i}`, servers[i] as SshServer));
    closed = await freePort();
    // An upload cut short: the first 40 MB of the binary are on board 0, 1 MB of garbage on board 1.
    const binary = readFileSync(join(dist, `hearth-${B}-linux-x64`));
    const part = (b: Board) => {
      mkdirSync(join(b.root, "opt/hearth/releases", B), { recursive: true });
      return join(b.root, "opt/hearth/releases", B, "hearth.part");
    };
    writeFileSync(part(three[0] as Board), binary.subarray(0, 40_000_000));
    writeFileSync(part(three[1] as Board), Buffer.alloc(1_000_000, 0x5a));
    // Board 2 was flashed with release A and is given no config: deploy carries its own over.
    flash(three[2] as Board, dist, A);
    const fleet = join(tmp, "fleet.yaml");
    // Each named by its node_id, as hearth fleet lists it.
    const entries = three.map((b, i) => fleetEntry(b, `    node: ${b.name.replaceAll("-", "_")}\n`, i !== 2)).join("");
    writeFileSync(fleet, `# three boards, each on its own sshd, and a host where nothing listens\nhosts:\n${entries}  - root@127.0.0.1:${closed}\n`);
    logStart = three.map((b) => b.server.log.length);
    run = await deploy(["--version", B, "--parallel", "2", "--connect-timeout", "5", "--fleet", fleet]);
  }, 2 * DEPLOY_TIMEOUT);

  test("the unreachable host fails alone, and the exit code says not all succeeded", () => {
    expect(run.out).toMatch(new RegExp(`127\\.0\\.0\\.1:${closed}: failed: cannot connect`));
    expect(run.out).toContain("3 of 4 host(s) succeeded");
    expect(run.code).toBe(1);
  });

  test("the three boards are deployed and healthy", async () => {
    for (const b of three) {
      expect(current(b)).toBe(`releases/${B}`);
      expect(await health(b)).toMatchObject({ code: 0, healthy: true, version: B });
    }
  });

  test("hearth fleet lists the three boards, online and all well, by the names the fleet file gives them", async () => {
    // Run from a desk: its own config names no broker (the embedded one's address); --broker gives the fleet's.
    const desk = join(tmp, "desk.yaml");
    writeFileSync(desk, "node_id: desk\n");
    const { stdout, stderr } = await runFleetWith(desk, ["--broker", broker.url, "--json"]);
    const listed = (JSON.parse(stdout || "{}") as { nodes?: Array<{ node: string; state: string; problems: string[] }> }).nodes ?? [];
    const names = (await readFleet(join(tmp, "fleet.yaml"))).flatMap((h) => (h.node === undefined ? [] : [h.node]));
    expect(names).toEqual(["board_fleet_0", "board_fleet_1", "board_fleet_2"]);
    // The other tests' boards publish on this broker too: these three are among the nodes it lists.
    expect(listed.filter((n) => names.includes(n.node)).map((n) => [n.node, n.state, n.problems])).toEqual(names.map((n) => [n, "online", []]));
    expect(stderr).toBe("");
  });

  test("never more than two boards were worked on at once", () => {
    // A board's deploy spans its sshd's first accepted login to its last disconnect in this run
    // (each board has an sshd of its own); count the spans open when each one starts.
    const spans = three.map((b, i) => {
      const lines = b.server.log.slice(logStart[i]);
      const first = lines.find((l) => l.text.startsWith("Accepted publickey"));
      const last = lines.findLast((l) => l.text.startsWith("Disconnected from user"));
      expect(first).toBeDefined();
      expect(last).toBeDefined();
      return { from: first?.at ?? 0, to: last?.at ?? 0 };
    });
    const most = Math.max(...spans.map((s) => spans.filter((o) => o.from <= s.from && s.from < o.to).length));
    expect(most).toBeLessThanOrEqual(2);
  });

  test("a board as deploy/flash left it is upgraded, and its config carried over into each release", () => {
    const flashed = three[2] as Board;
    const config = readFileSync(flashed.config, "utf8");
    expect(run.out).toMatch(new RegExp(`${flashed.server.destination.replaceAll(".", "\\.")}\\s+${A.replaceAll(".", "\\.")} → ${B.replaceAll(".", "\\.")}`));
    expect(readFileSync(join(flashed.root, "opt/hearth/releases", B, "hearth.yaml"), "utf8")).toBe(config);
    // The flashed release keeps its config too, so a rollback to it would run with what it ran with.
    expect(readFileSync(join(flashed.root, "opt/hearth/releases", A, "hearth.yaml"), "utf8")).toBe(config);
    expect(readlinkSync(join(flashed.root, "etc/hearth/hearth.yaml"))).toBe(join(flashed.root, "opt/hearth/current/hearth.yaml"));
    expect(readFileSync(join(flashed.root, "etc/hearth/hearth.yaml.before-deploy"), "utf8")).toBe(config);
  });

  test(
    "deploying the release a board already runs changes nothing there",
    async () => {
      const b = three[0] as Board;
      const pid = runningPid(b);
      const again = await deploy(["--version", B, "--root", b.root, "--service-cmd", b.supervisor, "--config", b.config, b.server.destination]);
      expect(again.out).toContain(`unchanged: ${B} is already running`);
      expect(again.code).toBe(0);
      expect(runningPid(b)).toBe(pid);
    },
    DEPLOY_TIMEOUT,
  );

  test("an interrupted upload is continued where it stopped, and a corrupt one is redone", () => {
    const [resumed, redone] = three as [Board, Board];
    expect(run.out).toContain(`${resumed.server.destination}: upload resumed at 40.0 MB, checksum verified`);
    expect(run.out).toContain(`${redone.server.destination}: uploaded, checksum verified`);
    for (const b of [resumed, redone]) expect(existsSync(join(b.root, "opt/hearth/releases", B, "hearth.part"))).toBe(false);
  });
});

describe("deploy/deploy --firmware: an image written to a board's device once the release is healthy", () => {
  // The device is the real hearth-io firmware on an emulated ATmega328P with Optiboot (test/firmware/update.test.ts
  // says what of it is a stand-in: the reset a port's opening causes); the board's hearth updates it with avrdude.
  let board: Board;
  let emulator: EmulatedBoard;
  const images: Record<string, string> = {};
  beforeAll(async () => {
    const out = join(tmp, "firmware");
    const a = await buildFirmware(join(out, "a"));
    images.v100 = a.hex;
    images.v110 = (await buildFirmware(join(out, "b"), ["FIRMWARE_VERSION=1.1.0"])).hex;
    writeFileSync(join(out, "silent.c"), "int main(void) { for (;;) {} }\n");
    for (const cmd of [
      ["avr-gcc", "-mmcu=atmega328p", "-Os", "-o", "silent.elf", "silent.c"],
      ["avr-objcopy", "-O", "ihex", "silent.elf", "silent.hex"],
    ]) {
      if ((await Bun.spawn(cmd, { cwd: out }).exited) !== 0) throw new Error(`${cmd.join(" ")} failed`);
    }
    images.silent = join(out, "silent.hex");
    emulator = await startEmulator(a.harness, ["--bootloader", await buildOptiboot(join(out, "a")), "--reset-on-open", a.hex]);
    board = newBoard("board-firmware", servers[1] as SshServer);
    writeFileSync(
      board.config,
      `node_id: board_firmware\nlog_level: info\nshutdown: { shutdown_jobs: 2, cancel: 2, tracked: 2, final_write: 2, close: 2 }\nmqtt:\n  url: ${broker.url}\ndevices:\n  - id: mcu\n    model: hearth-io\n    port: ${emulator.pty}\n`,
    );
  }, 180_000);
  afterAll(async () => {
    stopBoard(board);
    await emulator?.stop();
  });

  test("a --firmware file that is not an Intel HEX image is refused before any board is touched", async () => {
    const { code, out } = await deploy(["--version", A, "--firmware", `mcu=${board.config}`, ...boardArgs(board)]);
    expect(code).toBe(2);
    expect(out).toContain(`--firmware mcu=${board.config}: not a valid Intel HEX image: line 1: not an Intel HEX record`);
    expect(existsSync(join(board.root, "opt/hearth"))).toBe(false);
  });

  test(
    "the release is deployed, then the image written: the board's device says 1.1.0, and the release keeps the image",
    async () => {
      const { code, out } = await deploy(["--version", A, "--firmware", `mcu=${images.v110}`, ...boardArgs(board)]);
      expect(out).toContain("mcu: firmware updated, 1.0.0 → 1.1.0");
      expect(code).toBe(0);
      expect(readFileSync(join(board.root, "opt/hearth/releases", A, "firmware/mcu.hex"), "latin1")).toBe(readFileSync(images.v110!, "latin1"));
      expect(await health(board)).toMatchObject({ code: 0, healthy: true, version: A });
    },
    DEPLOY_TIMEOUT,
  );

  test(
    "an image that never says hello fails the board's deploy with hearth's reason; the device runs its firmware before, the release stays",
    async () => {
      const { code, out } = await deploy(["--version", A, "--firmware", `mcu=${images.silent}`, ...boardArgs(board)]);
      expect(code).toBe(1);
      expect(out).toContain(`${A} runs, healthy; but the firmware of mcu was not updated`);
      expect(out).toContain("the previous firmware (version 1.1.0) was written back and runs");
      expect(current(board)).toBe(`releases/${A}`);
      expect(await health(board)).toMatchObject({ code: 0, healthy: true, version: A });
    },
    DEPLOY_TIMEOUT,
  );
});

describe("deploy/deploy's pieces", () => {
  test("hosts are read as user@host[:port], IPv6 in brackets", () => {
    expect(parseDestination("pi@greenhouse.local")).toEqual({ user: "pi", host: "greenhouse.local" });
    expect(parseDestination("root@10.0.0.7:2222")).toEqual({ user: "root", host: "10.0.0.7", port: 2222 });
    expect(parseDestination("pi@[fe80::1]:22")).toEqual({ user: "pi", host: "fe80::1", port: 22 });
    expect(parseDestination("-oProxyCommand=x")).toBeUndefined();
    expect(parseDestination("pi@host:99999")).toBeUndefined();
  });

  test("a board's architecture picks the binary, and a 32-bit ARM board is refused", () => {
    expect(archOf("aarch64")).toBe("arm64");
    expect(archOf("x86_64")).toBe("x64");
    expect(archOf("armv7l")).toEqual({ refused: expect.stringContaining("32-bit ARM") });
  });

  test("pruning keeps the current and previous releases and the newest other", () => {
    expect(releasesToRemove(["d", "c", "b", "a"], ["d", "c"])).toEqual(["a"]);
    // The previous release is kept even when it is the oldest.
    expect(releasesToRemove(["d", "c", "b", "a"], ["d", "a"])).toEqual(["b"]);
    expect(releasesToRemove(["b", "a"], ["b", "a"])).toEqual([]);
  });

  test("a checksum file is read in sha256sum's format", () => {
    const sum = "a".repeat(64);
    expect(parseSums(`${sum}  hearth-1.0.0-linux-x64\n${"b".repeat(64)} *dist/hearth-1.0.0-linux-arm64\n`)).toEqual(
      new Map([
        ["hearth-1.0.0-linux-x64", sum],
        ["hearth-1.0.0-linux-arm64", "b".repeat(64)],
      ]),
    );
  });

  test("a fleet file with a mistake names the entry and what was expected", async () => {
    const file = join(tmp, "bad-fleet.yaml");
    writeFileSync(file, "hosts:\n  - pi@good\n  - host: pi@b\n    servce_cmd: systemctl\n");
    await expect(readFleet(file)).rejects.toThrow(/hosts\[1\]/);
    writeFileSync(file, "hosts:\n  - host: pi@good\n    node: the barn\n");
    await expect(readFleet(file)).rejects.toThrow(/hosts\[0\]\.node: expected a node_id/);
  });
});
