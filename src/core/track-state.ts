import type { Event } from "./event.ts";
import type { EventBus } from "./event-bus.ts";
import type { HubEvents } from "./hub-events.ts";
import { callback } from "./job.ts";
import type { State } from "./state.ts";
import type { StateChangedData } from "./state-machine.ts";

type StateChangedEvent = Event<"state_changed", StateChangedData>;
type Action = (event: StateChangedEvent) => void;

interface Dispatcher {
  byEntity: Map<string, Action[]>;
  remove: () => void;
}

// One bus listener per bus, whatever the number of tracked entities: each state change costs one map
// lookup instead of one filter call per tracker (HA's async_track_state_change_event).
const dispatchers = new WeakMap<EventBus<HubEvents>, Dispatcher>();

/** Calls `action` (a callback, run synchronously) with each `state_changed` event of the given entities; returns the function that stops it. */
export function trackStateChangeEvent(bus: EventBus<HubEvents>, entityIds: string | readonly string[], action: Action): () => void {
  const ids = (typeof entityIds === "string" ? [entityIds] : entityIds).map((id) => id.toLowerCase());
  let dispatcher = dispatchers.get(bus);
  if (dispatcher === undefined) {
    const byEntity = new Map<string, Action[]>();
    // The filter's lookup, handed to the listener that the bus runs right after it passes: one map lookup
    // per tracked change instead of two. Keyed by the data object, so a listener run any other way looks up again.
    let filteredData: StateChangedData | undefined;
    let filteredActions: Action[] | undefined;
    const remove = bus.listen(
      "state_changed",
      callback((event: StateChangedEvent) => {
        const actions = filteredData === event.data ? filteredActions : byEntity.get(event.data.entityId);
        filteredData = filteredActions = undefined;
        if (actions === undefined) return;
        // One tracker's error must not stop the others; the bus logs what is rethrown once all have run.
        let errors: unknown[] | undefined;
        for (let i = 0; i < actions.length; i++) {
          try {
            actions[i]!(event);
          } catch (err) {
            (errors ??= []).push(err);
          }
        }
        if (errors !== undefined) {
          throw errors.length === 1 ? errors[0] : new AggregateError(errors, `${errors.length} trackers of ${event.data.entityId} failed`);
        }
      }),
      {
        name: "trackStateChangeEvent",
        filter: (data: StateChangedData) => {
          const actions = byEntity.get(data.entityId);
          if (actions === undefined) return false;
          filteredData = data;
          filteredActions = actions;
          return true;
        },
      },
    );
    dispatcher = { byEntity, remove };
    dispatchers.set(bus, dispatcher);
  }
  const { byEntity } = dispatcher;
  for (const id of ids) byEntity.set(id, [...(byEntity.get(id) ?? []), action]);
  let removed = false;
  return () => {
    if (removed) return;
    removed = true;
    for (const id of ids) {
      const rest = (byEntity.get(id) ?? []).filter((a) => a !== action);
      if (rest.length > 0) byEntity.set(id, rest);
      else byEntity.delete(id);
    }
    if (byEntity.size === 0 && dispatchers.get(bus) === dispatcher) {
      dispatcher!.remove();
      dispatchers.delete(bus);
    }
  };
}

/** A state value to match: one value, a list of them, a predicate, or undefined for any. */
export type StateMatch = string | readonly string[] | ((state: string | undefined) => boolean) | undefined;

function matches(match: StateMatch, state: State | null): boolean {
  if (match === undefined) return true;
  const value = state?.state;
  if (typeof match === "function") return match(value);
  if (typeof match === "string") return value === match;
  return value !== undefined && match.includes(value);
}

/**
 * Calls `action(entityId, oldState, newState)` when one of the entities goes from a state matching
 * `from` to one matching `to` (HA's async_track_state_change); returns the function that stops it.
 */
export function trackStateChange(
  bus: EventBus<HubEvents>,
  entityIds: string | readonly string[],
  action: (entityId: string, oldState: State | null, newState: State | null) => void,
  match: { from?: StateMatch; to?: StateMatch } = {},
): () => void {
  return trackStateChangeEvent(bus, entityIds, (event) => {
    const { entityId, oldState, newState } = event.data;
    if (matches(match.from, oldState) && matches(match.to, newState)) action(entityId, oldState, newState);
  });
}
