import type { Context } from "./context.ts";
import { HearthError } from "./errors.ts";
import type { EventBus } from "./event-bus.ts";
import type { HubEvents } from "./hub-events.ts";
import { type Attributes, isValidEntityId, MAX_STATE_LENGTH, NO_ATTRIBUTES, State } from "./state.ts";

/** Data of a `state_changed` event: `oldState` is null for a new entity, `newState` null for a removed one. */
export interface StateChangedData {
  entityId: string;
  oldState: State | null;
  newState: State | null;
}

/** The current state of every entity (HA's StateMachine); each change fires `state_changed`. */
export class StateMachine {
  private readonly bus: EventBus<HubEvents>;
  private readonly states = new Map<string, State>();

  constructor(deps: { bus: EventBus<HubEvents> }) {
    this.bus = deps.bus;
  }

  get(entityId: string): State | undefined {
    return this.states.get(entityId.toLowerCase());
  }

  /** Every state, or those of one domain. */
  all(domain?: string): State[] {
    const list = [...this.states.values()];
    return domain === undefined ? list : list.filter((s) => s.domain === domain);
  }

  /** Entity ids, or those of one domain. */
  entityIds(domain?: string): string[] {
    return this.all(domain).map((s) => s.entityId);
  }

  /**
   * Sets an entity's state. Setting the same value and attributes again fires nothing (unless
   * `forceUpdate`); a new value moves `lastChanged`, new attributes only `lastUpdated`.
   */
  set(entityId: string, newState: string, attributes: Attributes = NO_ATTRIBUTES, options: { forceUpdate?: boolean; context?: Context; timestamp?: number } = {}): State {
    entityId = entityId.toLowerCase();
    if (!isValidEntityId(entityId)) {
      throw new HearthError("INVALID_ENTITY_ID", `Invalid entity id ${JSON.stringify(entityId)}: expected domain.object_id`);
    }
    const old = this.states.get(entityId);
    const sameState = old !== undefined && old.state === newState && !options.forceUpdate;
    if (sameState && Bun.deepEquals(old.attributes, attributes)) return old;
    const now = options.timestamp ?? Date.now();
    if (newState.length > MAX_STATE_LENGTH) {
      throw new HearthError("INVALID_STATE", `State of ${entityId} is ${newState.length} characters; at most ${MAX_STATE_LENGTH} allowed`);
    }
    const state = new State(entityId, newState, attributes, {
      lastChanged: sameState ? old.lastChanged : now,
      lastUpdated: now,
      context: options.context,
      validate: false,
    });
    this.states.set(entityId, state);
    // One clock reading stamps both the state and its event (as HA does), unless the caller dated the state.
    this.bus.fire(
      "state_changed",
      { entityId, oldState: old ?? null, newState: state },
      // The state's context, made once: the state and its event share it, as in HA.
      { context: state.context, timeFired: options.timestamp === undefined ? now : undefined },
    );
    return state;
  }

  /** Removes an entity; fires `state_changed` with `newState: null`. Returns whether it existed. */
  remove(entityId: string, options: { context?: Context } = {}): boolean {
    entityId = entityId.toLowerCase();
    const old = this.states.get(entityId);
    if (old === undefined) return false;
    this.states.delete(entityId);
    this.bus.fire("state_changed", { entityId, oldState: old, newState: null }, { context: options.context });
    return true;
  }
}
