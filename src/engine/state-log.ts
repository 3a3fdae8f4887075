import type { Event } from "../core/event.ts";
import type { Hub } from "../core/hub.ts";
import { callback } from "../core/job.ts";
import type { Logger } from "../core/logger.ts";
import type { StateChangedData } from "../core/state-machine.ts";
import type { Entity } from "../entities/entity.ts";
import { STATE_ON } from "../entities/on-off.ts";

/** Logs each change of a device entity's state as a line a person reads ("board Temperature: 21.6 °C"), with its `device` field for the log page's filter. */
export function logStateChanges(deps: { hub: Hub; log: Logger; entities: ReadonlyMap<string, Entity> }): () => void {
  const { hub, log, entities } = deps;
  return hub.bus.listen(
    "state_changed",
    callback((event: Event<"state_changed", StateChangedData>) => {
      const { entityId, newState, oldState } = event.data;
      const entity = entities.get(entityId);
      if (entity === undefined || newState === null) return;
      if (oldState === null && newState.state === "unavailable") return; // just registered: nothing to say yet
      const known = newState.state !== "unavailable" && newState.state !== "unknown";
      const unit = known && typeof newState.attributes.unit_of_measurement === "string" ? ` ${newState.attributes.unit_of_measurement}` : "";
      const brightness = typeof newState.attributes.brightness === "number" && newState.state === STATE_ON ? ` (brightness ${newState.attributes.brightness})` : "";
      log.info({ device: entity.deviceId, entity: entityId, state: newState.state, old: oldState?.state }, `${entity.deviceId} ${entity.name}: ${newState.state}${unit}${brightness}`);
    }),
    { name: "state log", filter: (data: StateChangedData) => entities.has(data.entityId) },
  );
}
