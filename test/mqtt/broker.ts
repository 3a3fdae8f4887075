import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Subprocess, spawn, which } from "bun";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { silentLogger } from "../../src/core/logger.ts";
import { EmbeddedBroker } from "../../src/mqtt/embedded-broker.ts";

/** A broker a test runs: real Mosquitto on a free loopback port, or hearth's embedded one when the binary is missing. */
export interface TestBroker {
  readonly kind: "mosquitto" | "embedded";
  readonly port: number;
  readonly url: string;
  /** Kills the broker: SIGKILL (no goodbye to its clients, nothing saved) unless told SIGTERM. */
  kill(signal?: "SIGKILL" | "SIGTERM"): Promise<void>;
  /** Starts it again on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** The Mosquitto binary, or null when it is not installed. */
export const MOSQUITTO = which("mosquitto") ?? (Bun.file("/usr/sbin/mosquitto").size > 0 ? "/usr/sbin/mosquitto" : null);
let announced = false;

/** A free TCP port on 127.0.0.1 (the kernel picks it). */
export async function freePort(): Promise<number> {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

/** Starts a broker for one test. */
export async function startBroker(
  options: { persistent?: boolean; tls?: { ca: string; cert: string; key: string }; users?: Record<string, string>; maxPacketSize?: number; acl?: string } = {},
): Promise<TestBroker> {
  const port = await freePort();
  if (MOSQUITTO === null) {
    if (options.tls) throw new Error("TLS tests need mosquitto");
    if (options.users) throw new Error("tests with broker users need mosquitto");
    if (options.maxPacketSize !== undefined || options.acl !== undefined) throw new Error("tests of the broker's max_packet_size or ACL need mosquitto");
    if (!announced) console.warn("mosquitto not found: the MQTT tests run against hearth's embedded broker (aedes) instead");
    announced = true;
    return embedded(port);
  }
  if (!announced) console.info(`MQTT tests run against real Mosquitto (${MOSQUITTO})`);
  announced = true;
  const dir = mkdtempSync(join(tmpdir(), "hearth-mosquitto-"));
  const conf = join(dir, "mosquitto.conf");
  // Persistent: sessions and queued messages survive a SIGTERM restart (saved at exit), as on a real broker.
  const persistence = options.persistent ? `persistence true\npersistence_location ${dir}/\n` : "persistence false\n";
  // Run as root, mosquitto drops to a `mosquitto` user who can read and write nothing in the temp dir.
  const user = process.getuid?.() === 0 ? "user root\n" : "";
  const tls = options.tls ? `cafile ${options.tls.ca}\ncertfile ${options.tls.cert}\nkeyfile ${options.tls.key}\n` : "";
  // With users: only they may connect (mosquitto_passwd -b writes each one's hashed password).
  let auth = "allow_anonymous true\n";
  if (options.users !== undefined) {
    const passwords = join(dir, "passwords");
    writeFileSync(passwords, "");
    for (const [name, password] of Object.entries(options.users)) {
      const made = Bun.spawnSync(["mosquitto_passwd", "-b", passwords, name, password], { stderr: "pipe" });
      if (made.exitCode !== 0) throw new Error(`mosquitto_passwd failed: ${made.stderr.toString()}`);
    }
    auth = `allow_anonymous false\npassword_file ${passwords}\n`;
  }
  // A broker that refuses (and disconnects for) any packet larger than this, as a small or strict one does.
  let limits = options.maxPacketSize === undefined ? "" : `max_packet_size ${options.maxPacketSize}\n`;
  if (options.acl !== undefined) {
    // Mosquitto's acl_file text (`topic deny <topic>` …): MQTT 5 clients get "not authorized" acks for what it denies.
    writeFileSync(join(dir, "acl"), options.acl);
    limits += `acl_file ${join(dir, "acl")}\n`;
  }
  writeFileSync(conf, `listener ${port} 127.0.0.1\n${tls}${auth}${user}${persistence}${limits}log_dest stderr\nlog_type error\nlog_type warning\nlog_type information\n`);
  let proc: Subprocess<"ignore", "ignore", "pipe"> | undefined;
  const launch = async () => {
    const child = spawn([MOSQUITTO, "-c", conf], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    proc = child;
    await untilLine(child.stderr, /running/, `mosquitto on port ${port}`);
  };
  await launch();
  const kill = async (signal: "SIGKILL" | "SIGTERM" = "SIGKILL") => {
    const child = proc;
    proc = undefined;
    if (child === undefined) return;
    child.kill(signal);
    await child.exited;
  };
  // Stopped for good: its folder (config, ACL, persistence) goes too.
  const stop = async () => {
    await kill();
    rmSync(dir, { recursive: true, force: true });
  };
  return { kind: "mosquitto", port, url: `${options.tls ? "mqtts" : "mqtt"}://127.0.0.1:${port}`, kill, restart: launch, stop };
}

async function embedded(port: number): Promise<TestBroker> {
  let broker: EmbeddedBroker | undefined;
  const launch = async () => {
    broker = new EmbeddedBroker({ log: silentLogger(), port });
    await broker.start();
  };
  await launch();
  const kill = async () => {
    await broker?.stop();
    broker = undefined;
  };
  return { kind: "embedded", port, url: `mqtt://127.0.0.1:${port}`, kill: () => kill(), restart: launch, stop: kill };
}

/** Resolves when `stream` has printed a line matching `pattern`, then keeps draining it. */
export async function untilLine(stream: ReadableStream<Uint8Array>, pattern: RegExp, what: string): Promise<void> {
  const decoder = new TextDecoder();
  let seen = "";
  const reader = stream.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${what} exited before it was ready:\n${seen}`);
    seen += decoder.decode(value, { stream: true });
    if (pattern.test(seen)) break;
  }
  // Keep draining its log so the pipe never fills and blocks the broker.
  void (async () => {
    try {
      for (;;) if ((await reader.read()).done) return;
    } catch {}
  })();
}

/** A second MQTT.js client playing the user's side, recording what it receives. */
export class Peer {
  readonly client: MqttClient;
  readonly received: Array<{ topic: string; payload: string; retain: boolean }> = [];
  /** Where `received` stood when this peer last published: what came after may be an answer to it. */
  private lastPublish = 0;
  private waiters: Array<{ match: (m: { topic: string; payload: string; retain: boolean }) => boolean; resolve: (m: { topic: string; payload: string; retain: boolean }) => void }> = [];

  private constructor(client: MqttClient) {
    this.client = client;
    client.on("message", (topic, payload, packet) => {
      const message = { topic, payload: payload.toString(), retain: packet.retain };
      this.received.push(message);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(message)) return true;
        w.resolve(message);
        return false;
      });
    });
  }

  static async connect(url: string, subscribe: string[] = [], options: IClientOptions = {}): Promise<Peer> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 100, ...options });
    const peer = new Peer(client);
    if (subscribe.length > 0) await client.subscribeAsync(subscribe, { qos: 1 });
    return peer;
  }

  /** The next message (already received, or still to come) on `topic` whose payload passes `match`; fails after `ms`. */
  next(topic: string, match: (payload: string) => boolean = () => true, ms = 5000, since = 0): Promise<{ topic: string; payload: string; retain: boolean }> {
    const test = (m: { topic: string; payload: string }) => m.topic === topic && match(m.payload);
    const already = this.received.slice(since).find(test);
    if (already !== undefined) return Promise.resolve(already as { topic: string; payload: string; retain: boolean });
    return this.waitFor(test, ms, topic);
  }

  /** The next message on `topic` that arrives from now on. */
  fresh(topic: string, match: (payload: string) => boolean = () => true, ms = 5000) {
    return this.waitFor((m) => m.topic === topic && match(m.payload), ms, topic);
  }

  /** A JSON message on `topic` that passes `match`, received since this peer last published (or still to come), parsed. */
  async json<T = Record<string, unknown>>(topic: string, match: (value: T) => boolean = () => true, ms = 5000): Promise<T> {
    const test = (m: { topic: string; payload: string }) => m.topic === topic && safeMatch(m.payload, match);
    const m = this.received.slice(this.lastPublish).find(test) ?? (await this.waitFor(test, ms, topic));
    return JSON.parse(m.payload) as T;
  }

  async publish(topic: string, payload: string | Buffer, options: { retain?: boolean } = {}): Promise<void> {
    this.lastPublish = this.received.length;
    await this.client.publishAsync(topic, payload, { qos: 1, retain: options.retain ?? false });
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }

  private waitFor(test: (m: { topic: string; payload: string; retain: boolean }) => boolean, ms: number, what: string) {
    return new Promise<{ topic: string; payload: string; retain: boolean }>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        const seen = this.received.filter((m) => m.topic === what).map((m) => m.payload.slice(0, 200));
        reject(new Error(`no matching message on ${what} within ${ms} ms; seen there: ${JSON.stringify(seen.slice(-5))}`));
      }, ms);
      const done = (m: { topic: string; payload: string; retain: boolean }) => {
        clearTimeout(timer);
        resolve(m);
      };
      this.waiters.push({ match: test, resolve: done });
    });
  }
}

function safeMatch<T>(payload: string, match: (value: T) => boolean): boolean {
  try {
    return match(JSON.parse(payload) as T);
  } catch {
    return false;
  }
}
