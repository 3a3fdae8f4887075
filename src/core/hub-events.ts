import type { StateChangedData } from "./state-machine.ts";

type NoData = Record<string, never>;

/**
 * The hub's typed event map, closed: `bus.fire("stat_changed", …)` does not type-check. Other layers add
 * their events by augmenting this interface (src/engine/events.ts, src/serial/events.ts):
 * `declare module "../core/hub-events.ts" { interface HubEvents { device_added: {...} } }`.
 */
export interface HubEvents {
  /** The hub is starting: set-up may begin. */
  hub_start: NoData;
  /** Set-up is over and the hub is running. */
  hub_started: NoData;
  /** Shutdown has begun: stop taking work. */
  hub_stop: NoData;
  /** Last chance to write state to storage. */
  hub_final_write: NoData;
  /** Close links and files. */
  hub_close: NoData;
  state_changed: StateChangedData;
}
