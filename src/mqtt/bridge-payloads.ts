import type { Hub } from "../core/hub.ts";
import type { LoopStats } from "../core/loop-monitor.ts";
import type { DeviceStats, DeviceViews } from "../engine/device-view.ts";
import type { OutboxCounts } from "../storage/outbox.ts";
import { VERSION } from "../version.ts";
import type { BrokerNode } from "./client.ts";

/** `<base>/bridge/devices`: every configured device with its entities. */
export function bridgeDevices(devices: DeviceViews): unknown[] {
  return devices.list().map((device) => ({
    id: device.id,
    name: device.name,
    model: device.model,
    manufacturer: device.manufacturer,
    sw_version: device.swVersion ?? null,
    firmware: { updatable: device.firmware.updatable, last_update: device.firmware.lastUpdate ?? null },
    state: device.state,
    available: device.available,
    stats: statsOf(device.stats),
    entities: device.entities.map(({ description: d, uniqueId }) => ({
      key: d.key,
      kind: d.kind,
      name: d.name ?? null,
      unique_id: uniqueId,
      ...("unit" in d && d.unit !== undefined ? { unit: d.unit } : {}),
      ...("device_class" in d && d.device_class !== undefined ? { device_class: d.device_class } : {}),
      ...("state_class" in d && d.state_class !== undefined ? { state_class: d.state_class } : {}),
      writable: d.kind !== "sensor" && d.kind !== "binary_sensor" && d.kind !== "device_tracker",
    })),
  }));
}

/**
 * A device's counters as bridge/devices shows them: what it was asked and answered, and what it sent that
 * was not a reading (garbage: frames that made no sense or failed their checksum; bad values: readings its
 * entities refused; too long: frames over the framing's limit). Null while it is not set up.
 */
function statsOf(stats: DeviceStats | undefined): Record<string, number> | null {
  if (stats === undefined) return null;
  return {
    polls: stats.polls,
    poll_failures: stats.pollFailures,
    commands: stats.commands,
    command_failures: stats.commandFailures,
    refused: stats.refused,
    timeouts: stats.timeouts,
    garbage: stats.garbage,
    bad_values: stats.badValues,
    too_long: stats.tooLong,
    reboots: stats.reboots,
  };
}

/** What `<base>/bridge/info` and the health request report. */
export interface InfoSources {
  hub: Hub;
  devices: DeviceViews;
  nodeId: string;
  baseTopic: string;
  /** When the bridge was made, on the hub's clock. */
  startedAt: number;
  loop?: () => LoopStats;
  messages: () => Record<string, number>;
  /** The outbox: queued, dropped and set-aside messages. */
  outbox?: () => OutboxCounts;
  /** The broker node the connection is on (or trying), and whether it is connected. */
  broker?: () => BrokerNode & { connected: boolean; since?: number };
  logLevel: () => string;
}

/** `<base>/bridge/info`. */
export function bridgeInfo(s: InfoSources): Record<string, unknown> {
  const configured = s.devices.list();
  const running = configured.filter((d) => d.running);
  const executor = s.hub.executorIfStarted as { stats?: () => unknown } | undefined;
  return {
    version: VERSION,
    node: s.nodeId,
    // When this was said (the board's wall clock): a reader can tell how old a retained copy is.
    time: new Date().toISOString(),
    base_topic: s.baseTopic,
    uptime_s: Math.round((s.hub.clock.now() - s.startedAt) / 1000),
    log_level: s.logLevel(),
    devices: { configured: configured.length, loaded: running.length, available: running.filter((d) => d.available).length },
    loop: s.loop?.() ?? null,
    executor: typeof executor?.stats === "function" ? executor.stats() : null,
    broker: brokerOf(s),
    messages: s.messages(),
    outbox: s.outbox?.() ?? null,
    memory: memoryFigures(),
  };
}

/**
 * bridge/info's `broker`: the URL (no password) of the node hearth is on, its place in the configured
 * list, and since when it has been connected there.
 */
function brokerOf(s: InfoSources): Record<string, unknown> | null {
  const b = s.broker?.();
  if (b === undefined) return null;
  return { url: b.url, connected: b.connected, since: b.since === undefined ? null : new Date(b.since).toISOString(), node: b.index, nodes: b.count };
}

/**
 * The process's memory in MB: its resident set (what the board gives it) and the JavaScript heap in use,
 * so a slow growth can be told apart: a heap that grows is hearth holding on to something,
 * a resident set that grows while the heap does not is the allocator or native code.
 */
function memoryFigures(): { rss_mb: number; heap_used_mb: number } {
  const m = process.memoryUsage();
  const mb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;
  // Not heapTotal: under Bun it is not an upper bound of heapUsed, so it would only mislead.
  return { rss_mb: mb(m.rss), heap_used_mb: mb(m.heapUsed) };
}
