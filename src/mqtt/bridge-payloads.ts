import type { Hub } from "../core/hub.ts";
import type { LoopStats } from "../core/loop-monitor.ts";
import type { DeviceManager } from "../engine/manager.ts";
import type { OutboxCounts } from "../storage/outbox.ts";
import { VERSION } from "../version.ts";

/** `<base>/bridge/devices`: every configured device with its entities. */
export function bridgeDevices(devices: DeviceManager, nodeId: string): unknown[] {
  return [...devices.entries.values()].map((entry) => {
    const device = entry.runtime?.device;
    return {
      id: entry.id,
      name: entry.config.name ?? entry.id,
      model: entry.definition.model,
      manufacturer: entry.definition.manufacturer,
      sw_version: device?.swVersion ?? null,
      state: entry.state,
      available: device?.available ?? false,
      entities: entry.definition.entities.map((d) => ({
        key: d.key,
        kind: d.kind,
        name: d.name ?? null,
        unique_id: `${nodeId}_${entry.id}_${d.key}`,
        ...("unit" in d && d.unit !== undefined ? { unit: d.unit } : {}),
        ...("device_class" in d && d.device_class !== undefined ? { device_class: d.device_class } : {}),
        ...("state_class" in d && d.state_class !== undefined ? { state_class: d.state_class } : {}),
        writable: d.kind !== "sensor" && d.kind !== "binary_sensor",
      })),
    };
  });
}

/** What `<base>/bridge/info` and the health request report. */
export interface InfoSources {
  hub: Hub;
  devices: DeviceManager;
  nodeId: string;
  baseTopic: string;
  startedAt: number;
  loop?: () => LoopStats;
  messages: () => Record<string, number>;
  /** The outbox: queued, dropped and set-aside messages. */
  outbox?: () => OutboxCounts;
  logLevel: () => string;
}

/** `<base>/bridge/info`. */
export function bridgeInfo(s: InfoSources): Record<string, unknown> {
  const devices = s.devices.devices();
  const executor = s.hub.executorIfStarted as { stats?: () => unknown } | undefined;
  return {
    version: VERSION,
    node: s.nodeId,
    base_topic: s.baseTopic,
    uptime_s: Math.round((Date.now() - s.startedAt) / 1000),
    log_level: s.logLevel(),
    devices: { configured: s.devices.entries.size, loaded: devices.length, available: devices.filter((d) => d.available).length },
    loop: s.loop?.() ?? null,
    executor: typeof executor?.stats === "function" ? executor.stats() : null,
    messages: s.messages(),
    outbox: s.outbox?.() ?? null,
  };
}
