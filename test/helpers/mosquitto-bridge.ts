/**
 * Two real Mosquitto brokers bridged to each other with Mosquitto's own bridge, the other way MQTT fleets are built:
 * B holds the bridge (`connection` to A, `topic # both 1`), A is a plain broker. A message published on either reaches
 * subscribers on both, once: `try_private true` makes B announce itself as a bridge, so A does not send B's own
 * messages back to it (no loop). Retained messages cross the bridge with their retain flag, and when the bridge
 * (re)connects A sends it what it retains, so both brokers end up retaining the same topics.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Subprocess, spawn } from "bun";
import mqtt from "mqtt";
import { freePort, MOSQUITTO, untilLine } from "../mqtt/broker.ts";

/** One of the two brokers. */
export interface BridgedNode {
  readonly port: number;
  readonly url: string;
  /** SIGKILLs the broker, as a crash. */
  kill(): Promise<void>;
  /** Starts it again on the same port and configuration; B's bridge reconnects to A by itself. */
  restart(): Promise<void>;
}

/** The two bridged brokers: nodes[0] is A (plain), nodes[1] is B (holds the bridge). */
export interface BridgedMosquittos {
  readonly nodes: [BridgedNode, BridgedNode];
  stop(): Promise<void>;
}

/** Starts A, then B with its bridge to A; resolves once the bridge is connected. */
export async function startBridgedMosquittos(): Promise<BridgedMosquittos> {
  if (MOSQUITTO === null) throw new Error("the bridged brokers need mosquitto (Debian package mosquitto)");
  const binary = MOSQUITTO;
  const dir = mkdtempSync(join(tmpdir(), "hearth-bridge-"));
  const [portA, portB] = [await freePort(), await freePort()];
  // Run as root, mosquitto would drop to a `mosquitto` user; root needs nothing of it here.
  const user = process.getuid?.() === 0 ? "user root\n" : "";
  const common = `${user}allow_anonymous true\npersistence false\nlog_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\n`;
  writeFileSync(join(dir, "a.conf"), `listener ${portA} 127.0.0.1\n${common}`);
  // MQTT 3.1.1 on the bridge (what both speak), a clean session (nothing queued for a dead peer replays twice),
  // no notification topic (it would be a retained message of the bridge's own on every broker), and a reconnect
  // within a second of A coming back.
  writeFileSync(
    join(dir, "b.conf"),
    `listener ${portB} 127.0.0.1\n${common}connection to-a\naddress 127.0.0.1:${portA}\ntopic # both 1\nbridge_protocol_version mqttv311\ntry_private true\ncleansession true\nnotifications false\nrestart_timeout 1\nstart_type automatic\nkeepalive_interval 5\n`,
  );
  const node = (conf: string, port: number, ready: RegExp) => {
    let proc: Subprocess<"ignore", "ignore", "pipe"> | undefined;
    const launch = async () => {
      const child = spawn([binary, "-c", join(dir, conf)], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
      proc = child;
      await untilLine(child.stderr, ready, `mosquitto ${conf} on port ${port}`);
    };
    const kill = async () => {
      const child = proc;
      proc = undefined;
      if (child === undefined) return;
      child.kill("SIGKILL");
      await child.exited;
    };
    return { port, url: `mqtt://127.0.0.1:${port}`, launch, kill };
  };
  const a = node("a.conf", portA, /running/);
  // B is ready once its bridge has connected to A (Mosquitto logs "Connecting bridge to-a", then A logs the client).
  const b = node("b.conf", portB, /Connecting bridge/);
  const stop = async () => {
    await Promise.all([a.kill(), b.kill()]);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await a.launch();
    await b.launch();
    await untilBridged(a.url, b.url);
  } catch (error) {
    await stop();
    throw error;
  }
  const restart = (n: typeof a) => async () => {
    await n.launch();
    await untilBridged(a.url, b.url);
  };
  return {
    nodes: [
      { port: a.port, url: a.url, kill: a.kill, restart: restart(a) },
      { port: b.port, url: b.url, kill: b.kill, restart: restart(b) },
    ],
    stop,
  };
}

/** Resolves once a message published on B reaches a subscriber on A (the bridge is up); fails after 20 s. */
async function untilBridged(urlA: string, urlB: string): Promise<void> {
  const topic = `hearth-bridge-probe/${Math.random().toString(36).slice(2)}`;
  const [sub, pub] = [await mqtt.connectAsync(urlA, { reconnectPeriod: 0 }), await mqtt.connectAsync(urlB, { reconnectPeriod: 0 })];
  try {
    await sub.subscribeAsync(topic, { qos: 1 });
    let arrived = false;
    sub.on("message", () => {
      arrived = true;
    });
    const deadline = Date.now() + 20_000;
    while (!arrived) {
      if (Date.now() > deadline) throw new Error("the bridge from B to A did not carry a message within 20 s");
      await pub.publishAsync(topic, "probe", { qos: 0 });
      await Bun.sleep(100);
    }
  } finally {
    await Promise.all([sub.endAsync(true), pub.endAsync(true)]);
  }
}
