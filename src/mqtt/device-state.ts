import type { StateMachine } from "../core/state-machine.ts";
import type { Device } from "../engine/device.ts";
import { type Entity, STATE_UNAVAILABLE, STATE_UNKNOWN } from "../entities/entity.ts";

/** One entity's value in `<base>/<device>`: a number, ON/OFF, text, `{state, brightness}` for a light, or null. */
export function entityValue(entity: Entity, states: StateMachine): unknown {
  const state = states.get(entity.entityId);
  if (state === undefined || state.state === STATE_UNAVAILABLE || state.state === STATE_UNKNOWN) return null;
  switch (entity.description.kind) {
    case "sensor":
      return entity.description.numeric ? Number(state.state) : state.state;
    case "number":
      return Number(state.state);
    case "binary_sensor":
    case "switch":
      return state.state === "on" ? "ON" : "OFF";
    case "light": {
      const brightness = state.attributes.brightness;
      return { state: state.state === "on" ? "ON" : "OFF", ...(typeof brightness === "number" ? { brightness } : {}) };
    }
    case "button":
      return state.state;
  }
}

/** The retained JSON of `<base>/<device>`: every entity's value by key. */
export function deviceState(device: Device, states: StateMachine): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, entity] of device.entities) out[key] = entityValue(entity, states);
  return out;
}
