/**
 * sd_notify against a real AF_UNIX datagram socket. No systemd runs here, so a small Python receiver
 * stands in for it: it binds the socket systemd would (a path or an abstract name, with SO_PASSCRED as
 * systemd sets it), and prints each datagram it gets with the sender's pid from the kernel's credentials.
 */
import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Subprocess, spawn } from "bun";
import { ManualClock } from "../../src/core/clock.ts";
import { createLogger, MemoryLogDestination } from "../../src/core/logger.ts";
import { notifySocketAddress } from "../../src/core/notify-socket.ts";
import { SystemdNotifier } from "../../src/core/systemd-notify.ts";
import { builtBinary } from "../deploy/binary.ts";
import { OutputReader } from "../helpers/output-reader.ts";
import { tempDir } from "../helpers/temp.ts";
import { Peer, startBroker, type TestBroker } from "../mqtt/broker.ts";
import { loggedHub } from "./helpers.ts";

const root = join(import.meta.dir, "..", "..");
const PYTHON = Bun.which("python3");
if (PYTHON === null) console.warn("python3 not found: the sd_notify tests that need a receiving socket are skipped");
/** A test that needs the Python receiver. */
const withReceiver = test.skipIf(PYTHON === null);

const RECEIVER = `
import json, socket, struct, sys, time
address = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind("\\0" + address[1:] if address.startswith("@") else address)
print(json.dumps({"bound": address}), flush=True)
while True:
    data, ancillary, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
    pid = None
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", payload[:12])[0]
    print(json.dumps({"at": time.time() * 1000, "message": data.decode(), "pid": pid}), flush=True)
`;

interface Datagram {
  at: number;
  message: string;
  pid: number | null;
}

/** systemd's end of the notify socket, played by python3. */
class Receiver {
  readonly datagrams: Datagram[] = [];
  private readonly output: OutputReader;

  private constructor(
    readonly address: string,
    private readonly proc: Subprocess<"ignore", "pipe", "pipe">,
  ) {
    this.output = new OutputReader(proc.stdout);
  }

  static async bind(address: string): Promise<Receiver> {
    const proc = spawn([PYTHON!, "-c", RECEIVER, address], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const receiver = new Receiver(address, proc);
    await receiver.output.waitFor('"bound"');
    return receiver;
  }

  /** Every datagram received so far, parsed. */
  received(): Datagram[] {
    return this.output.text
      .split("\n")
      .filter((line) => line.startsWith('{"at"'))
      .map((line) => JSON.parse(line) as Datagram);
  }

  /** The first datagram whose message contains `text`, waiting for it up to `ms`. */
  async next(text: string, ms = 10_000): Promise<Datagram> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.received().find((d) => d.message.split("\n").includes(text));
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no ${text} within ${ms} ms; received: ${JSON.stringify(this.received())}`);
      await Promise.race([this.output.waitFor(text), Bun.sleep(200)]).catch(() => {});
    }
  }

  /** Waits until what was received satisfies `done`, up to `ms`. */
  async until(done: (received: Datagram[]) => boolean, what: string, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done(this.received())) {
      if (Date.now() > deadline) throw new Error(`no ${what} within ${ms} ms; received: ${JSON.stringify(this.received())}`);
      await Promise.race([this.output.changed(), Bun.sleep(deadline - Date.now())]);
    }
  }

  async stop(): Promise<void> {
    this.proc.kill();
    await this.proc.exited;
  }
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const notifyDir = () => tempDir("hearth-notify-");

async function receiver(address: string): Promise<Receiver> {
  const r = await Receiver.bind(address);
  cleanups.push(() => r.stop());
  return r;
}

async function broker(): Promise<TestBroker> {
  const b = await startBroker();
  cleanups.push(() => b.stop());
  return b;
}

/** `hearth run` in a child process, as systemd would start it, with `env` added to its environment. */
function runHearth(mqttUrl: string, env: Record<string, string>, command = [process.execPath, join(root, "src/cli.ts")]) {
  const dir = notifyDir();
  const config = join(dir, "hearth.yaml");
  writeFileSync(config, `node_id: notify-test\nlog_level: info\nmqtt:\n  url: ${mqttUrl}\ndevices: []\n`);
  const childEnv: Record<string, string | undefined> = { ...process.env, HEARTH_LOG_FORMAT: "json", HEARTH_DATA_DIR: dir, ...env };
  if (!("NOTIFY_SOCKET" in env)) delete childEnv.NOTIFY_SOCKET;
  delete childEnv.WATCHDOG_USEC;
  delete childEnv.WATCHDOG_PID;
  Object.assign(childEnv, env);
  const child = spawn([...command, "run", "--config", config], { cwd: root, env: childEnv, stdout: "pipe", stderr: "pipe" });
  cleanups.push(async () => {
    child.kill("SIGKILL");
    await child.exited;
  });
  return { child, out: new OutputReader(child.stdout), err: new OutputReader(child.stderr) };
}

withReceiver("hearth tells systemd READY=1 once it is running, with its own pid", async () => {
  const mqtt = await broker();
  const peer = await Peer.connect(mqtt.url, ["hearth/notify-test/bridge/state"]);
  cleanups.push(() => peer.close());
  const systemd = await receiver(join(notifyDir(), "notify"));
  const { child } = runHearth(mqtt.url, { NOTIFY_SOCKET: systemd.address });

  const ready = await systemd.next("READY=1");
  expect(ready.pid).toBe(child.pid);
  expect(ready.message).toContain("STATUS=Running");
  // And it serves: the bridge comes online on the broker (READY=1 means started, the connection may follow).
  await peer.next("hearth/notify-test/bridge/state", (p) => p === "online");
});

withReceiver("watchdog pings reach systemd from the running process, and STOPPING=1 comes on SIGTERM with no ping after it", async () => {
  const mqtt = await broker();
  const systemd = await receiver(join(notifyDir(), "notify"));
  const { child } = runHearth(mqtt.url, { NOTIFY_SOCKET: systemd.address, WATCHDOG_USEC: "2000000" });
  const ready = await systemd.next("READY=1");
  // Two pings after READY=1, whenever the machine gets to them (their period is checked on a driven clock below).
  await systemd.until((d) => d.filter((x) => x.message === "WATCHDOG=1" && x.at > ready.at).length >= 2, "two WATCHDOG=1 after READY=1");
  expect(systemd.received().find((d) => d.message === "WATCHDOG=1")!.pid).toBe(child.pid);

  child.kill("SIGTERM");
  const stopping = await systemd.next("STOPPING=1");
  expect(stopping.pid).toBe(child.pid);
  expect(await child.exited).toBe(0);
  const afterStopping = systemd.received().filter((d) => d.at > stopping.at && d.message === "WATCHDOG=1");
  expect(afterStopping).toEqual([]);
});

test("the watchdog pings at half of WATCHDOG_USEC, never letting a gap reach it, and stops at shutdown", async () => {
  const { hub } = loggedHub();
  const clock = new ManualClock();
  const sent: Array<{ message: string; at: number }> = [];
  const open = () => ({ send: (message: string) => void sent.push({ message, at: clock.now() }), close: () => {} });
  const notifier = new SystemdNotifier({ hub, log: hub.log, clock, open, env: { NOTIFY_SOCKET: "/run/notify", WATCHDOG_USEC: "2000000" } });
  cleanups.push(() => notifier.stop());
  await notifier.start();
  for (let i = 0; i < 9; i++) clock.advance(500);
  const pings = sent.filter((d) => d.message === "WATCHDOG=1");
  expect(pings.map((p) => p.at - sent[0]!.at)).toEqual([1000, 2000, 3000, 4000]);
  await notifier.stop();
  clock.advance(5000);
  expect(sent.filter((d) => d.message === "WATCHDOG=1")).toHaveLength(4);
});

withReceiver(
  "the single-file binary speaks sd_notify too (bun:ffi inside a compiled executable)",
  async () => {
    const binary = await builtBinary(process.arch === "arm64" ? "arm64" : "x64");
    const mqtt = await broker();
    const systemd = await receiver(join(notifyDir(), "notify"));
    const { child } = runHearth(mqtt.url, { NOTIFY_SOCKET: systemd.address, WATCHDOG_USEC: "1000000" }, [binary]);
    expect((await systemd.next("READY=1")).pid).toBe(child.pid);
    await systemd.next("WATCHDOG=1");
    child.kill("SIGTERM");
    await systemd.next("STOPPING=1");
    expect(await child.exited).toBe(0);
  },
  120_000,
);

withReceiver("an abstract NOTIFY_SOCKET (@name) works", async () => {
  const mqtt = await broker();
  const systemd = await receiver(`@hearth-notify-test-${process.pid}-${Date.now()}`);
  const { child } = runHearth(mqtt.url, { NOTIFY_SOCKET: systemd.address });
  expect((await systemd.next("READY=1")).pid).toBe(child.pid);
  child.kill("SIGTERM");
  await systemd.next("STOPPING=1");
  expect(await child.exited).toBe(0);
});

withReceiver("without NOTIFY_SOCKET nothing is sent and nothing about systemd is logged", async () => {
  const mqtt = await broker();
  const systemd = await receiver(join(notifyDir(), "notify"));
  const { child, out, err } = runHearth(mqtt.url, { WATCHDOG_USEC: "200000" });
  await out.waitFor("hearth is running");
  child.kill("SIGTERM");
  expect(await child.exited).toBe(0);
  await Promise.all([out.done, err.done]);
  expect(systemd.received()).toEqual([]);
  expect(`${out.text}${err.text}`).not.toMatch(/systemd|watchdog|NOTIFY_SOCKET/i);
});

test("without NOTIFY_SOCKET no socket is opened and no ping is timed, however long hearth runs", async () => {
  const { hub } = loggedHub();
  const clock = new ManualClock();
  let opened = 0;
  const open = () => {
    opened++;
    return { send: () => {}, close: () => {} };
  };
  const notifier = new SystemdNotifier({ hub, log: hub.log, clock, open, env: { WATCHDOG_USEC: "200000" } });
  await notifier.start();
  for (let i = 0; i < 20; i++) clock.advance(100);
  await notifier.stop();
  expect(opened).toBe(0);
});

test("a WATCHDOG_PID of another process means no pings from this one", async () => {
  const { hub } = loggedHub();
  const notifier = new SystemdNotifier({ hub, log: hub.log, env: { NOTIFY_SOCKET: "/run/x", WATCHDOG_USEC: "30000000", WATCHDOG_PID: "1" }, pid: 4242 });
  expect(notifier.watchdogIntervalMs).toBeUndefined();
  const own = new SystemdNotifier({ hub, log: hub.log, env: { WATCHDOG_USEC: "30000000", WATCHDOG_PID: "4242" }, pid: 4242 });
  expect(own.watchdogIntervalMs).toBe(15000);
});

withReceiver("a stuck event loop stops the watchdog pings", async () => {
  const systemd = await receiver(join(notifyDir(), "notify"));
  const { hub } = loggedHub();
  const notifier = new SystemdNotifier({ hub, log: hub.log, env: { NOTIFY_SOCKET: systemd.address, WATCHDOG_USEC: "200000" } });
  await notifier.start();
  cleanups.push(() => notifier.stop());
  await systemd.next("WATCHDOG=1");
  const stuckFrom = Date.now();
  while (Date.now() - stuckFrom < 1000) {} // a job that never yields: the pings' timer cannot run
  const stuckUntil = Date.now();
  await systemd.until((d) => d.some((p) => p.message === "WATCHDOG=1" && p.at >= stuckUntil), "a WATCHDOG=1 once the loop runs again");
  const pings = systemd.received().filter((d) => d.message === "WATCHDOG=1");
  expect(pings.filter((p) => p.at > stuckFrom && p.at < stuckUntil).length).toBeLessThanOrEqual(1);
  expect(pings.filter((p) => p.at >= stuckUntil).length).toBeGreaterThanOrEqual(1);
});

test("a failing send is logged once and never thrown into the loop", async () => {
  const logs = new MemoryLogDestination();
  const { hub } = loggedHub();
  const log = createLogger({ level: "debug", destination: logs });
  const clock = new ManualClock();
  // The real socket, on a path nobody listens on: every sendto fails with ENOENT; the pings are timed by a driven clock.
  const notifier = new SystemdNotifier({ hub, log, clock, env: { NOTIFY_SOCKET: join(notifyDir(), "nobody"), WATCHDOG_USEC: "100000" } });
  await notifier.start();
  for (let i = 0; i < 4; i++) clock.advance(50);
  notifier.status("still here");
  await notifier.stop();
  await notifier.stop();
  const warnings = logs.find("Cannot notify systemd");
  expect(warnings).toHaveLength(1);
  expect(warnings[0]!.msg).toContain("ENOENT");
});

test("NOTIFY_SOCKET addresses: a path is NUL-terminated, an @name is abstract, anything else is refused", () => {
  const path = notifySocketAddress("/run/systemd/notify");
  expect(path.length).toBe(2 + "/run/systemd/notify".length + 1);
  expect(new DataView(path.buffer).getUint16(0, true)).toBe(1); // AF_UNIX
  expect(Buffer.from(path.subarray(2, -1)).toString()).toBe("/run/systemd/notify");
  expect(path.at(-1)).toBe(0);
  const abstract = notifySocketAddress("@hearth");
  expect([...abstract.subarray(2)]).toEqual([0, ...Buffer.from("hearth")]);
  expect(() => notifySocketAddress("run/notify")).toThrow("absolute path");
  expect(() => notifySocketAddress(`/${"x".repeat(120)}`)).toThrow("longer than");
});

test("starting the notifier twice sends READY=1 once and keeps one watchdog ping going", async () => {
  const { hub } = loggedHub();
  const clock = new ManualClock();
  const sent: string[] = [];
  let opened = 0;
  // The socket is the real one in the tests above; here the datagrams are counted, and time is driven.
  const open = () => {
    opened++;
    return { send: (message: string) => void sent.push(message), close: () => {} };
  };
  const notifier = new SystemdNotifier({ hub, log: hub.log, clock, open, env: { NOTIFY_SOCKET: "/run/notify", WATCHDOG_USEC: "2000000" } });
  cleanups.push(() => notifier.stop());
  await notifier.start();
  await notifier.start();
  expect(opened).toBe(1);
  expect(sent.filter((m) => m.startsWith("READY=1"))).toHaveLength(1);
  expect(hub.bus.listenerCounts().hub_stop).toBe(1);
  clock.advance(1000);
  clock.advance(1000);
  expect(sent.filter((m) => m === "WATCHDOG=1")).toHaveLength(2); // one ping per second, not two
});
