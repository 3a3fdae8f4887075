/**
 * A real two-node RabbitMQ cluster with its MQTT plugin (Debian's rabbitmq-server, 3.10: MQTT 3.1.1 only), for the
 * broker failover tests. Both nodes run on this machine, each with its own node name, ports and folders, all under one
 * temporary folder that stop() removes.
 *
 * Run as root, not as the `rabbitmq` user: the nodes and rabbitmqctl only need to share an Erlang cookie, which they
 * read from $HOME/.erlang.cookie, so HOME is the temporary folder and the cookie is written there; nothing of the
 * system's /var/lib/rabbitmq is read or changed. Node names are `<name>@localhost` (a short name that resolves to
 * 127.0.0.1 here whatever the machine's hostname). epmd, the Erlang port mapper, runs on a free port of its own
 * (ERL_EPMD_PORT) so that it is ours alone and stop() can end it.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Subprocess, spawn } from "bun";
import { freePort } from "../mqtt/broker.ts";

const SCRIPTS = "/usr/lib/rabbitmq/bin";

/** One node of the cluster. */
export interface RabbitNode {
  readonly name: string;
  readonly mqttPort: number;
  readonly url: string;
  /** SIGKILLs the node's Erlang VM, as a crash: no goodbye to its clients or to the other node. */
  kill(): Promise<void>;
  /** Starts it again on the same ports and data; it rejoins the cluster. Resolves when its MQTT listener accepts. */
  restart(): Promise<void>;
}

/** A running two-node cluster. */
export interface RabbitCluster {
  readonly nodes: [RabbitNode, RabbitNode];
  /** How long starting and joining took, in milliseconds. */
  readonly startMs: number;
  /** Kills both nodes and epmd and removes the folder. */
  stop(): Promise<void>;
}

/** Why the cluster cannot run here, or null when rabbitmq-server is installed. */
export function rabbitAvailable(): string | null {
  if (!existsSync(join(SCRIPTS, "rabbitmq-server"))) return "rabbitmq-server is not installed (Debian package rabbitmq-server)";
  return null;
}

/** Starts both nodes in parallel, then joins the second to the first. */
export async function startRabbitCluster(): Promise<RabbitCluster> {
  const why = rabbitAvailable();
  if (why !== null) throw new Error(why);
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), "hearth-rabbit-"));
  writeFileSync(join(dir, ".erlang.cookie"), `hearth${Math.random().toString(36).slice(2)}`, { mode: 0o400 });
  const epmdPort = await freePort();
  const suffix = Math.random().toString(36).slice(2, 8);
  const base = { ...process.env, HOME: dir, ERL_EPMD_PORT: String(epmdPort) };
  const ctl = async (node: string, ...args: string[]) => {
    const child = spawn([join(SCRIPTS, "rabbitmqctl"), "-n", node, ...args], { env: base, stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = [await new Response(child.stdout).text(), await new Response(child.stderr).text(), await child.exited];
    if (code !== 0) throw new Error(`rabbitmqctl -n ${node} ${args.join(" ")} failed (${code}): ${err}${out}`);
  };
  const make = async (letter: string) => {
    const name = `hearth${letter}-${suffix}@localhost`;
    const home = join(dir, letter);
    mkdirSync(home);
    const [amqp, mqttPort, dist] = [await freePort(), await freePort(), await freePort()];
    // Anonymous MQTT as guest; guest may connect from 127.0.0.1 anyway, loopback_users = none says so plainly.
    // Only the MQTT plugin is enabled, so no management or prometheus listener is opened.
    writeFileSync(
      join(home, "rabbitmq.conf"),
      `listeners.tcp.default = 127.0.0.1:${amqp}\nmqtt.listeners.tcp.default = 127.0.0.1:${mqttPort}\nmqtt.allow_anonymous = true\nmqtt.default_user = guest\nmqtt.default_pass = guest\nloopback_users = none\n`,
    );
    writeFileSync(join(home, "enabled_plugins"), "[rabbitmq_mqtt].\n");
    writeFileSync(join(home, "env.conf"), "");
    const env = {
      ...base,
      RABBITMQ_NODENAME: name,
      RABBITMQ_NODE_PORT: String(amqp),
      RABBITMQ_DIST_PORT: String(dist),
      RABBITMQ_MNESIA_BASE: join(home, "mnesia"),
      RABBITMQ_LOG_BASE: join(home, "log"),
      RABBITMQ_FEATURE_FLAGS_FILE: join(home, "feature_flags"),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(home, "enabled_plugins"),
      RABBITMQ_CONFIG_FILE: join(home, "rabbitmq.conf"),
      // Our own (empty) env file, not the system's /etc/rabbitmq/rabbitmq-env.conf.
      RABBITMQ_CONF_ENV_FILE: join(home, "env.conf"),
      RABBITMQ_PLUGINS_EXPAND_DIR: join(home, "plugins"),
      RABBITMQ_PID_FILE: join(home, "pid"),
    };
    let proc: Subprocess<"ignore", "pipe", "pipe"> | undefined;
    const launch = async () => {
      // The script runs the VM (erl → beam.smp) as its child in the background and waits for it: see kill.
      const child = spawn([join(SCRIPTS, "rabbitmq-server")], { env, cwd: home, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
      proc = child;
      const output = drain(child.stdout);
      drain(child.stderr);
      await untilListening(mqttPort, child, () => output.text, `${name}'s MQTT listener`);
    };
    const kill = async () => {
      const child = proc;
      proc = undefined;
      if (child === undefined) return;
      // SIGKILL to the script alone would orphan the VM: kill the VM, its child (and the pid file's, the same
      // process, should the script have gone), then the script, which exits once its wait returns.
      const vms = new Set(childrenOf(child.pid));
      const pidFile = Bun.file(join(home, "pid"));
      if (await pidFile.exists()) vms.add(Number((await pidFile.text()).trim()));
      for (const pid of vms) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {}
      }
      child.kill("SIGKILL");
      await child.exited;
      await untilGone([...vms]);
    };
    return { name, mqttPort, url: `mqtt://127.0.0.1:${mqttPort}`, launch, kill };
  };
  const [a, b] = [await make("A"), await make("B")];
  const stop = async () => {
    await Promise.all([a.kill(), b.kill()]);
    // epmd daemonized itself (parent init) and `epmd -kill` refuses while it still lists a node: end the one whose
    // environment has our port, which only our nodes started.
    for (const pid of epmdsOn(epmdPort)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all([a.launch(), b.launch()]);
    await ctl(b.name, "stop_app");
    await ctl(b.name, "join_cluster", a.name);
    await ctl(b.name, "start_app");
    await untilListening(b.mqttPort, undefined, () => "", `${b.name}'s MQTT listener after joining`);
  } catch (error) {
    await stop();
    throw error;
  }
  const node = (n: typeof a): RabbitNode => ({ name: n.name, mqttPort: n.mqttPort, url: n.url, kill: n.kill, restart: n.launch });
  return { nodes: [node(a), node(b)], startMs: Date.now() - started, stop };
}

/** The epmd processes started with ERL_EPMD_PORT=port. */
function epmdsOn(port: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() !== "epmd") continue;
      if (readFileSync(`/proc/${entry}/environ`, "utf8").split("\0").includes(`ERL_EPMD_PORT=${port}`)) found.push(Number(entry));
    } catch {}
  }
  return found;
}

/** The pids of a process's children (Linux /proc). */
function childrenOf(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
    return text === "" ? [] : text.split(/\s+/).map(Number);
  } catch {
    return [];
  }
}

/** Resolves when none of these processes exists any more (a SIGKILLed VM is gone within moments). */
async function untilGone(pids: number[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  // Until reaped, not merely a zombie: a dying VM's threads may still hold its listeners and its name in epmd.
  while (pids.some((pid) => existsSync(`/proc/${pid}`))) {
    if (Date.now() > deadline) throw new Error(`RabbitMQ's VM (${pids.join(", ")}) still runs 10 s after SIGKILL`);
    await Bun.sleep(20);
  }
}

function drain(stream: ReadableStream<Uint8Array>): { text: string } {
  const out = { text: "" };
  const decoder = new TextDecoder();
  void (async () => {
    try {
      for await (const chunk of stream) out.text = (out.text + decoder.decode(chunk, { stream: true })).slice(-20_000);
    } catch {}
  })();
  return out;
}

/** Resolves when 127.0.0.1:port accepts a connection; fails if the node exits first or after 90 s. */
async function untilListening(port: number, child: Subprocess | undefined, log: () => string, what: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child?.exitCode !== null && child?.exitCode !== undefined) throw new Error(`${what}: the node exited (${child.exitCode}) before it listened:\n${log()}`);
    if (await accepts(port)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not listening within 90 s:\n${log()}`);
    await Bun.sleep(100);
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(socket) {
          socket.end();
          resolve(true);
        },
        data() {},
        connectError() {
          resolve(false);
        },
      },
    }).catch(() => resolve(false));
  });
}
