import { builtInCatalogue } from "../../src/catalogue.ts";
import type { DeviceConfig } from "../../src/config/schema.ts";
import type { Clock } from "../../src/core/clock.ts";
import { Hub } from "../../src/core/hub.ts";
import { createLogger, MemoryLogDestination } from "../../src/core/logger.ts";
import type { State } from "../../src/core/state.ts";
import type { ModelCatalogue } from "../../src/engine/catalogue.ts";
import { ConfiguredPorts, serialTransports } from "../../src/engine/configured-ports.ts";
import { DeviceManager } from "../../src/engine/manager.ts";

/**
 * A hub with a device manager on real ptys and serial links, as the service builds it; `clock` drives the
 * hub's timers (a ManualClock for rate limits), `catalogue` gives the models (the built-in ones by default).
 */
export async function deviceHub(devices: Array<Partial<DeviceConfig> & { id: string }>, options: { clock?: Clock; catalogue?: ModelCatalogue } = {}) {
  const catalogue = options.catalogue ?? builtInCatalogue();
  const logs = new MemoryLogDestination();
  const log = createLogger({ level: "debug", destination: logs });
  const hub = new Hub({ log, clock: options.clock, stageTimeouts: { shutdownJobs: 2, cancel: 2, tracked: 2, finalWrite: 2, close: 2 } });
  const ports = new ConfiguredPorts({ catalogue });
  const manager = new DeviceManager({ hub, log, nodeId: "test", catalogue, transports: serialTransports({ hub, log }), ports });
  const configs = devices.map((d) => ({ model: "hearth-io", port: "sim", options: { interval: 60_000 }, ...d }) as DeviceConfig);
  await manager.setup(configs);
  await hub.start();
  const stop = async () => {
    await manager.stop();
    await hub.stop();
  };
  return { hub, manager, ports, logs, stop };
}

/** Resolves with the entity's state once `predicate` holds (now or after a state_changed); rejects after `ms`. */
export function stateOf(hub: Hub, entityId: string, predicate: (s: State) => boolean, ms = 5000): Promise<State> {
  const now = hub.states.get(entityId);
  if (now !== undefined && predicate(now)) return Promise.resolve(now);
  const signal = AbortSignal.timeout(ms);
  return hub.bus
    .waitFor("state_changed", (d) => d.entityId === entityId && d.newState !== null && predicate(d.newState), signal)
    .then((e) => e.data.newState!)
    .catch((err) => {
      throw new Error(`${entityId} never matched; last state ${hub.states.get(entityId)?.state} (${err})`);
    });
}
