import type mqtt from "mqtt";
import { z } from "zod";
import { baseTopicOf, brokerUrlsOf, type Config } from "../config/schema.ts";
import { BrokerUnreachableError, brokerAddress, connectToBroker } from "./broker-client.ts";
import type { Output } from "./output.ts";

/** Exit codes of `hearth fleet`: 0 every node online with every device available, 1 not, 2 bad usage, 3 no broker. */
export const FLEET_EXIT = { allWell: 0, notAllWell: 1, usage: 2, noBroker: 3 } as const;

/** How long the retained topics may take to arrive after subscribing, when the marker does not come back. */
const SETTLE_LIMIT_MS = 5000;
/** In --watch, changes this close together are drawn once. */
const REDRAW_DEBOUNCE_MS = 200;
/** In --watch, the table is drawn again this often even when nothing changed, so that its ages stay true. */
const REDRAW_TABLE_MS = 10_000;
/** In --watch, the wait before connecting again after the broker was lost. */
const RECONNECT_MS = 2000;

// What is read of a node's retained bridge topics. Loose: a newer hearth may say more, an older one less,
// and a topic under the prefix that is not hearth's must not stop the others from being shown.
const InfoSchema = z.looseObject({
  version: z.string().optional(),
  node: z.string().optional(),
  time: z.string().optional(),
  uptime_s: z.number().optional(),
  devices: z.looseObject({ configured: z.number(), available: z.number() }).optional(),
  loop: z.looseObject({ lagMs: z.number().optional(), meanLagMs: z.number().optional() }).nullable().optional(),
  outbox: z.looseObject({ queued: z.number(), set_aside: z.number().optional() }).nullable().optional(),
  broker: z.looseObject({ url: z.string().optional(), since: z.string().nullable().optional(), node: z.number().optional(), nodes: z.number().optional() }).nullable().optional(),
});
type Info = z.infer<typeof InfoSchema>;
const DevicesSchema = z.array(z.looseObject({ id: z.string(), available: z.boolean().optional(), state: z.string().optional() }));
type DeviceEntry = z.infer<typeof DevicesSchema>[number];

/** One node as its retained bridge topics tell it. */
interface NodeReport {
  /** The topic level under the prefix: `hearth/<node>/bridge/…`. */
  node: string;
  state?: string;
  /** When this command saw `state` change (ms since the epoch): better than the info's age when known. */
  stateSeenAt?: number;
  info?: Info;
  devices?: DeviceEntry[];
}

/** One node's row, as `--json` prints it. */
export interface FleetRow {
  node: string;
  /** The node_id its bridge/info gives, when it differs from the topic level. */
  node_id?: string;
  /** missing: a node the fleet file names that has nothing on the broker. */
  state: "online" | "offline" | "unknown" | "missing";
  /** Online: since the connection was made; offline: at most since this (its last word, or when it was seen to go). */
  since: string | null;
  version: string | null;
  uptime_s: number | null;
  devices: { configured: number; available: number; unavailable: string[] } | null;
  loop_lag_ms: number | null;
  outbox: { queued: number; set_aside: number } | null;
  broker: { url: string; node: number; nodes: number } | null;
  /** Why the node is not all well; empty when it is. */
  problems: string[];
}

/**
 * The retained bridge topics of every node under a prefix, kept up to date from the messages of one or
 * more brokers. Read from the nodes of a cluster that keep retained messages each for itself (RabbitMQ),
 * a node's topics may be on several, the stale ones where it was before: its row is taken from the broker
 * with its newest bridge/info.
 */
export class FleetView {
  /** node → broker (its index in the list read) → what that broker holds of it. */
  private readonly nodes = new Map<string, Map<number, NodeReport>>();
  private readonly pattern: RegExp;

  /** `expected`: nodes to list even when nothing of theirs is on the broker (a fleet file's). */
  constructor(
    readonly prefix: string,
    private readonly expected: readonly string[] = [],
  ) {
    const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    this.pattern = new RegExp(`^${prefix === "" ? "" : `${escaped}/`}([^/]+)/bridge/(state|info|devices)$`);
  }

  /**
   * The subscriptions that bring every node's bridge topics: under a wildcard, and each expected node's
   * by name too (RabbitMQ sends retained messages to exact topic filters only).
   */
  get topics(): string[] {
    const under = (level: string) => (this.prefix === "" ? level : `${this.prefix}/${level}`);
    return ["+", ...this.expected].flatMap((node) => ["state", "info", "devices"].map((t) => `${under(node)}/bridge/${t}`));
  }

  /** Takes one message from broker `source`; false when it is not a bridge topic of a node or could not be read. */
  take(topic: string, payload: Buffer, now: number, source = 0): boolean {
    const match = this.pattern.exec(topic);
    if (match === null) return false;
    const [, node = "", kind] = match;
    const text = payload.toString();
    const held = this.nodes.get(node) ?? new Map<number, NodeReport>();
    // An empty retained message clears the topic: a node whose topics are all cleared is gone.
    if (text === "") return this.clear(node, held, source, kind as "state" | "info" | "devices");
    const report = held.get(source) ?? { node };
    if (kind === "state") {
      if (report.state !== undefined && report.state !== text) report.stateSeenAt = now;
      report.state = text;
    } else {
      const parsed = (kind === "info" ? InfoSchema : DevicesSchema).safeParse(parseJson(text));
      if (!parsed.success) return false;
      if (kind === "info") report.info = parsed.data as Info;
      else report.devices = parsed.data as DeviceEntry[];
    }
    held.set(source, report);
    this.nodes.set(node, held);
    return true;
  }

  /** Every node's row, by node name. */
  rows(now: number): FleetRow[] {
    const names = new Set([...this.nodes.keys(), ...this.expected]);
    return [...names]
      .sort((a, b) => a.localeCompare(b))
      .map((node) => {
        const held = this.nodes.get(node);
        return held === undefined ? missingRow(node) : rowOf(newest([...held.values()]), now);
      });
  }

  private clear(node: string, held: Map<number, NodeReport>, source: number, kind: "state" | "info" | "devices"): boolean {
    const report = held.get(source);
    if (report === undefined) return true;
    if (kind === "state") delete report.state;
    else if (kind === "info") delete report.info;
    else delete report.devices;
    if (report.state === undefined && report.info === undefined && report.devices === undefined) held.delete(source);
    if (held.size === 0) this.nodes.delete(node);
    return true;
  }
}

/** Of what several brokers hold of one node, the report with the newest bridge/info (the first if none says when). */
function newest(reports: readonly NodeReport[]): NodeReport {
  const when = (r: NodeReport) => parseTime(r.info?.time) ?? -1;
  return reports.reduce((best, r) => (when(r) > when(best) ? r : best));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A node the fleet file names of which the broker holds nothing: never connected, or its topics cleared. */
function missingRow(node: string): FleetRow {
  return {
    node,
    state: "missing",
    since: null,
    version: null,
    uptime_s: null,
    devices: null,
    loop_lag_ms: null,
    outbox: null,
    broker: null,
    problems: ["nothing on the broker: never connected to it?"],
  };
}

function rowOf(r: NodeReport, now: number): FleetRow {
  const info = r.info;
  const state = r.state === "online" ? "online" : r.state === "offline" ? "offline" : "unknown";
  const infoTime = parseTime(info?.time);
  const online = state === "online";
  const since = online ? (parseTime(info?.broker?.since ?? undefined) ?? r.stateSeenAt) : (r.stateSeenAt ?? infoTime);
  // Uptime as of now: the info's figure plus the time since it was said.
  const uptime = online && info?.uptime_s !== undefined ? info.uptime_s + (infoTime === undefined ? 0 : Math.max(0, Math.round((now - infoTime) / 1000))) : null;
  const unavailable = (r.devices ?? []).filter((d) => d.available !== true).map((d) => d.id);
  const configured = r.devices?.length ?? info?.devices?.configured;
  const available = r.devices === undefined ? info?.devices?.available : configured! - unavailable.length;
  const devices = configured === undefined || available === undefined ? null : { configured, available, unavailable };
  const problems: string[] = [];
  if (state === "offline") problems.push("offline");
  else if (state === "unknown") problems.push("no bridge/state");
  if (devices !== null && devices.available < devices.configured) {
    problems.push(unavailable.length > 0 ? `unavailable: ${unavailable.join(", ")}` : `${devices.configured - devices.available} device(s) unavailable`);
  }
  const broker = info?.broker;
  return {
    node: r.node,
    ...(info?.node !== undefined && info.node !== r.node ? { node_id: info.node } : {}),
    state,
    since: since === undefined ? null : new Date(since).toISOString(),
    version: info?.version ?? null,
    uptime_s: uptime,
    devices,
    loop_lag_ms: info?.loop?.meanLagMs ?? info?.loop?.lagMs ?? null,
    outbox: info?.outbox ? { queued: info.outbox.queued, set_aside: info.outbox.set_aside ?? 0 } : null,
    broker: broker?.url === undefined ? null : { url: broker.url, node: broker.node ?? 1, nodes: broker.nodes ?? 1 },
    problems,
  };
}

function parseTime(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : t;
}

/** Whether every node is online with every device available (and there is at least one node). */
export function allWell(rows: readonly FleetRow[]): boolean {
  return rows.length > 0 && rows.every((r) => r.problems.length === 0);
}

/** The table `hearth fleet` prints, with a line per node that is not all well below it. */
export function renderFleet(rows: readonly FleetRow[], prefix: string, now: number): string {
  const under = prefix === "" ? "+" : `${prefix}/+`;
  if (rows.length === 0) return `no hearth has published under ${under}/bridge/ on this broker\n`;
  const header = ["NODE", "STATE", "SINCE", "VERSION", "UPTIME", "DEVICES", "LOOP LAG", "OUTBOX", "BROKER"];
  const cells = rows.map((r) => [
    r.node_id === undefined ? r.node : `${r.node} (${r.node_id})`,
    r.state,
    r.since === null ? "-" : `${duration((now - Date.parse(r.since)) / 1000)} ago`,
    r.version ?? "-",
    r.uptime_s === null ? "-" : duration(r.uptime_s),
    r.devices === null ? "-" : `${r.devices.available}/${r.devices.configured}`,
    r.loop_lag_ms === null ? "-" : `${r.loop_lag_ms.toFixed(1)} ms`,
    r.outbox === null ? "-" : r.outbox.set_aside > 0 ? `${r.outbox.queued} (${r.outbox.set_aside} set aside)` : String(r.outbox.queued),
    r.broker === null ? "-" : r.broker.nodes > 1 ? `${brokerAddress(r.broker.url)} (${r.broker.node}/${r.broker.nodes})` : brokerAddress(r.broker.url),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]!))).join("  ");
  const out = [line(header), ...cells.map(line)];
  const unwell = rows.filter((r) => r.problems.length > 0);
  const online = rows.filter((r) => r.state === "online").length;
  out.push("", `${rows.length} node(s): ${online} online${online < rows.length ? `, ${rows.length - online} not` : ""}; ${unwell.length === 0 ? "all well" : `${unwell.length} not all well`}`);
  for (const r of unwell)
    out.push(`  ${r.node}: ${r.problems.map((p) => (p === "offline" && r.since !== null ? `offline (last heard ${duration((now - Date.parse(r.since)) / 1000)} ago)` : p)).join("; ")}`);
  return `${out.join("\n")}\n`;
}

/** 3d 4h, 2h 5m, 4m 10s, 12s. */
function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** The prefix the nodes of a fleet share: the base topic without its last level (`hearth/<node>` → `hearth`). */
export function fleetPrefix(config: Config): string {
  const base = baseTopicOf(config.mqtt, config.node_id);
  const cut = base.lastIndexOf("/");
  return cut < 0 ? "" : base.slice(0, cut);
}

export interface FleetOptions {
  /** Broker URLs to read instead of the configuration's (`--broker`, repeatable: a cluster's nodes). */
  brokers?: readonly string[];
  /** Nodes to list by name, there or not (`--fleet FILE`: its hosts' `node`). */
  nodes?: readonly string[];
  json?: boolean;
  watch?: boolean;
  /** Resolves when --watch should end (Ctrl-C). */
  stopped?: Promise<void>;
  connectTimeoutMs?: number;
}

/** One broker read: where, and the client while connected. */
interface Source {
  readonly index: number;
  readonly url: string;
  client: mqtt.MqttClient | undefined;
}

/**
 * `hearth fleet`: every hearth under the base topic's prefix, from their retained `bridge/state`,
 * `bridge/info` and `bridge/devices`; a table (or JSON), once or redrawn as they change. Given a cluster's
 * nodes it reads every one (a cluster may keep retained messages on the node they were published to),
 * and needs only one of them to answer.
 */
export async function fleetCommand(config: Config, output: Output, options: FleetOptions = {}): Promise<number> {
  const view = new FleetView(fleetPrefix(config), options.nodes ?? []);
  const given = options.brokers !== undefined && options.brokers.length > 0 ? options.brokers : brokerUrlsOf(config.mqtt);
  const urls = given.length > 0 ? given : [undefined];
  const connect = (url: string | undefined) =>
    connectToBroker(config.mqtt, {
      clientId: `hearth_fleet_${process.pid}_${Math.random().toString(36).slice(2, 8)}`,
      connectTimeoutMs: options.connectTimeoutMs ?? 5000,
      ...(url === undefined ? {} : { urls: [url] }),
    });
  const sources: Source[] = [];
  const failures: string[] = [];
  await Promise.all(
    urls.map(async (url, index) => {
      try {
        const { client, url: shown } = await connect(url);
        sources.push({ index, url: shown, client });
      } catch (err) {
        if (!(err instanceof BrokerUnreachableError)) throw err;
        failures.push(err.message);
      }
    }),
  );
  if (sources.length === 0) {
    output.err(`hearth fleet: ${failures.join("; ")}\n`);
    return FLEET_EXIT.noBroker;
  }
  // Some nodes of a cluster answered: what the others hold is missing, which is worth saying.
  for (const f of failures) output.err(`hearth fleet: ${f}; listing what the other broker node(s) hold\n`);
  sources.sort((a, b) => a.index - b.index);
  const verdict = () => (allWell(view.rows(Date.now())) ? FLEET_EXIT.allWell : FLEET_EXIT.notAllWell);
  const print = () => {
    const now = Date.now();
    const rows = view.rows(now);
    if (options.json) output.out(`${JSON.stringify({ prefix: view.prefix, all_well: allWell(rows), nodes: rows }, null, options.watch ? undefined : 2)}\n`);
    else output.out(`${options.watch ? CLEAR_SCREEN : ""}${renderFleet(rows, view.prefix, now)}`);
  };
  try {
    await Promise.all(sources.map((s) => settle(s.client!, view, s.index)));
    print();
    if (!options.watch) return verdict();
    const stop = (options.stopped ?? new Promise<void>(() => {})).then(() => "stopped" as const);
    // The table's ages ("2m ago", the uptimes) move on without any message: draw it again now and then.
    const ticking = options.json ? undefined : setInterval(print, REDRAW_TABLE_MS);
    try {
      await Promise.all(sources.map((s) => follow(s, view, print, () => connect(urls[s.index]), output, stop)));
    } finally {
      clearInterval(ticking);
    }
    return verdict();
  } finally {
    await Promise.all(sources.map((s) => s.client?.endAsync(true).catch(() => {})));
  }
}

/** Moves the cursor home and clears the screen, so each table of --watch replaces the last. */
const CLEAR_SCREEN = "\x1b[H\x1b[2J";

/**
 * Subscribes and waits for the retained topics. They come right after the subscription; a message this
 * command then publishes to a topic of its own comes back after them, so its return says they are all in
 * (a broker that does not let it publish there: at most SETTLE_LIMIT_MS).
 */
async function settle(client: mqtt.MqttClient, view: FleetView, source: number): Promise<void> {
  const marker = `${view.prefix === "" ? "" : `${view.prefix}/`}fleet/${client.options.clientId}`;
  let markerSeen: () => void = () => {};
  const back = new Promise<void>((resolve) => {
    markerSeen = resolve;
  });
  client.on("message", (topic, payload) => {
    if (topic === marker) markerSeen();
    else view.take(topic, payload, Date.now(), source);
  });
  await client.subscribeAsync([...view.topics, marker], { qos: 1 });
  await client.publishAsync(marker, "", { qos: 1 }).catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([back, new Promise<void>((resolve) => (timer = setTimeout(resolve, SETTLE_LIMIT_MS)))]);
  clearTimeout(timer);
}

/**
 * --watch on one broker: draws again on every change until `stop`; when the broker is lost it says so,
 * connects again every RECONNECT_MS, and reads its retained topics again.
 */
async function follow(source: Source, view: FleetView, print: () => void, connect: () => Promise<{ client: mqtt.MqttClient }>, output: Output, stop: Promise<"stopped">): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const changed = () => {
    timer ??= setTimeout(() => {
      timer = undefined;
      print();
    }, REDRAW_DEBOUNCE_MS);
  };
  try {
    for (;;) {
      const c = source.client!;
      c.on("message", changed);
      const closed = new Promise<"closed">((resolve) => {
        c.once("close", () => resolve("closed"));
        if (!c.connected) resolve("closed");
      });
      if ((await Promise.race([stop, closed])) === "stopped") return;
      clearTimeout(timer);
      timer = undefined;
      output.err(`hearth fleet: lost the broker ${source.url}; connecting again\n`);
      const next = await reconnect(connect, stop);
      await c.endAsync(true).catch(() => {});
      source.client = next;
      if (next === undefined) return;
      try {
        await settle(next, view, source.index);
        print();
      } catch {
        // Lost again while reading the retained topics: the next turn sees it closed.
      }
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Connects again every RECONNECT_MS until it works, or undefined once `stop` comes. */
async function reconnect(connect: () => Promise<{ client: mqtt.MqttClient }>, stop: Promise<"stopped">): Promise<mqtt.MqttClient | undefined> {
  for (;;) {
    if ((await Promise.race([stop, Bun.sleep(RECONNECT_MS).then(() => "again" as const)])) === "stopped") return undefined;
    try {
      return (await connect()).client;
    } catch (err) {
      if (!(err instanceof BrokerUnreachableError)) throw err;
    }
  }
}
