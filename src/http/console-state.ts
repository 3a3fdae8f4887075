/**
 * What the web console shows, as plain data: the overview of hearth and a snapshot of each device. The
 * page's HTML is rendered from it (console-pages.ts) and the WebSocket sends it as JSON (console-feed.ts),
 * so both say the same thing. Nothing here is escaped: device-provided strings stay raw data until the
 * page escapes them (the server with escapeHtml, the script with textContent).
 */
import type { EntityKind } from "../config/entity-description.ts";
import type { Hub } from "../core/hub.ts";
import type { DeviceView, DeviceViews } from "../engine/device-view.ts";
import type { MetricsSources } from "./metrics.ts";

/** What the console reads: the metrics' sources and the hub (its bus for changes, its states for when they came). */
export interface ConsoleSources extends MetricsSources {
  hub: Hub;
}

/** An entity's value as a user sees it (`21.5`, `"ON"`, `{ state, brightness }`), as the view gives it. */
type EntityValue = NonNullable<ReturnType<DeviceViews["values"]>>[string];

export interface OverviewSnapshot {
  version: string;
  node: string;
  uptimeS: number;
  /** Undefined before the bridge has started. */
  broker: { connected: boolean; url: string } | undefined;
  outbox: number | undefined;
  loopLagMs: number;
  executorQueued: number | undefined;
  devices: { configured: number; available: number };
  /** Each figure as the page shows it, by name (the page's `data-t` cells). */
  text: Record<string, string>;
}

export interface EntitySnapshot {
  key: string;
  name: string;
  kind: EntityKind;
  unit: string | undefined;
  /** A number's range, for its control. */
  range: { min: number; max: number; step: number } | undefined;
}

export interface DeviceSnapshot {
  id: string;
  name: string;
  model: string;
  available: boolean;
  running: boolean;
  /** Why it is not available (its last words, or why its set-up failed). */
  reason: string | undefined;
  /** When one of its entities last changed (ms since the epoch); undefined before any reading. */
  lastChange: number | undefined;
  /** Frames counted, errors (garbage, bad values, frames too long) and timeouts, while it runs. */
  counts: { frames: number; errors: number; timeouts: number } | undefined;
  values: Record<string, EntityValue>;
  entities: EntitySnapshot[];
  /** Whether its model says how to update its firmware (the page then offers it), and the version it said. */
  updatable: boolean;
  swVersion: string | undefined;
  /** Each cell as the page shows it, by name (`availability`, `lastChange`, `counts`, `entity:<key>`): made once, here, for the server's HTML and the script alike. */
  text: Record<string, string>;
}

/** The kinds a user can command from the page. */
export const WRITABLE_KINDS: ReadonlySet<EntityKind> = new Set(["switch", "light", "number", "button"]);

/** The overview's figures, in the order the page lists them, with their labels. */
export const OVERVIEW_ROWS: ReadonlyArray<[name: string, label: string]> = [
  ["version", "Version"],
  ["node", "Node"],
  ["uptime", "Up for"],
  ["broker", "MQTT broker"],
  ["outbox", "Outbox"],
  ["loopLag", "Loop lag"],
  ["executor", "Executor queue"],
  ["devices", "Devices available"],
];

export function overviewOf(sources: ConsoleSources): OverviewSnapshot {
  const devices = sources.devices.list();
  const mqtt = sources.mqtt();
  const executorQueued = sources.executor()?.stats.queued;
  const overview = {
    version: sources.version,
    node: sources.nodeId,
    uptimeS: Math.round(process.uptime()),
    broker: mqtt === undefined ? undefined : { connected: mqtt.connected, url: mqtt.url },
    outbox: mqtt?.outboxQueued,
    loopLagMs: Math.round(sources.loop().lagMs * 10) / 10,
    executorQueued,
    // As bridge/info counts them: available among those running.
    devices: { configured: devices.length, available: devices.filter((d) => d.running && d.available).length },
  };
  const text: Record<string, string> = {
    version: overview.version,
    node: overview.node,
    uptime: duration(overview.uptimeS),
    broker: overview.broker === undefined ? "not started" : `${overview.broker.connected ? "connected to" : "not connected to"} ${overview.broker.url}`,
    outbox: overview.outbox === undefined ? "—" : `${overview.outbox} waiting`,
    loopLag: `${overview.loopLagMs} ms`,
    executor: executorQueued === undefined ? "not started" : `${executorQueued} waiting`,
    devices: `${overview.devices.available} of ${overview.devices.configured}`,
  };
  return { ...overview, text };
}

/** Seconds as the page says them: `3 d 4 h`, `5 h 2 min`, `12 min 5 s`, `40 s`. */
function duration(s: number): string {
  const [d, h, m] = [Math.floor(s / 86400), Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60)];
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  return m > 0 ? `${m} min ${s % 60} s` : `${s} s`;
}

/** A value as the page shows it, with its unit after a no-break space (never wrapped apart): `21.5 °C`, `OFF`, `ON, brightness 128`, `—` for none. */
function valueText(value: EntityValue | undefined, unit: string | undefined): string {
  if (value === undefined || value === null) return "—";
  if (typeof value === "object") {
    // A light: its brightness only while it is on (an off light's is 0, or the last it had).
    if ("state" in value) return value.brightness === undefined || value.state !== "ON" ? value.state : `${value.state}, brightness ${value.brightness}`;
    return JSON.stringify(value);
  }
  return unit === undefined ? String(value) : `${value}\u00a0${unit}`;
}

export function deviceOf(view: DeviceView, devices: DeviceViews, hub: Hub): DeviceSnapshot {
  const stats = view.stats;
  let lastChange: number | undefined;
  for (const entity of view.entities) {
    const updated = hub.states.get(entity.entityId)?.lastUpdated;
    if (updated !== undefined && (lastChange === undefined || updated > lastChange)) lastChange = updated;
  }
  const values = devices.values(view.id) ?? {};
  const entities = view.entities.map((e) => ({
    key: e.key,
    name: e.name,
    kind: e.kind,
    unit: "unit" in e.description ? e.description.unit : undefined,
    range: e.description.kind === "number" ? { min: e.description.min, max: e.description.max, step: e.description.step } : undefined,
  }));
  const counts = stats === undefined ? undefined : { frames: stats.frames, errors: stats.garbage + stats.badValues + stats.tooLong, timeouts: stats.timeouts };
  const reason = view.available ? undefined : (view.unavailableReason ?? view.reason);
  const changed = view.running ? lastChange : undefined;
  const text: Record<string, string> = {
    availability: view.available ? "available" : reason === undefined ? "unavailable" : `unavailable: ${reason}`,
    lastChange: changed === undefined ? "—" : `${new Date(changed).toISOString().slice(0, 19).replace("T", " ")} UTC`,
    counts: counts === undefined ? "not running" : `${counts.frames} frames, ${counts.errors} errors, ${counts.timeouts} timeouts`,
  };
  for (const e of entities) text[`entity:${e.key}`] = valueText(values[e.key], e.unit);
  return {
    id: view.id,
    name: view.name,
    model: view.modelName,
    available: view.available,
    running: view.running,
    reason,
    lastChange: changed,
    counts,
    values,
    entities,
    updatable: view.firmware.updatable,
    swVersion: view.swVersion,
    text,
  };
}

export function devicesOf(sources: ConsoleSources): DeviceSnapshot[] {
  return sources.devices.list().map((view) => deviceOf(view, sources.devices, sources.hub));
}
