import type { Clock, TimerHandle } from "../core/clock.ts";
import type { Context } from "../core/context.ts";
import type { StateMachine } from "../core/state-machine.ts";
import { type Entity, type EntityState, type EntityValue, isRejected, type RawValue, STATE_UNAVAILABLE } from "../entities/entity.ts";

interface Pending {
  state: EntityState;
  timer: TimerHandle;
}

/**
 * Writes entity readings into the state machine, applying each entity's `deadband` (a smaller change
 * is no change) and `throttle` (at most one write per window; the latest value wins and is written
 * when the window ends), so a chatty device does not flood the bus.
 */
export class StateWriter {
  private readonly states: StateMachine;
  private readonly clock: Clock;
  private readonly lastWritten = new Map<string, { value: EntityState["value"]; at: number }>();
  private readonly pending = new Map<string, Pending>();
  /** The value a user sees of each entity, written with its state (absent: no reading, or unavailable). */
  private readonly shown = new Map<string, EntityValue>();

  /** `clock` times the throttle windows: the hub's, so a test can drive them. */
  constructor(deps: { states: StateMachine; clock: Clock }) {
    this.states = deps.states;
    this.clock = deps.clock;
  }

  /**
   * Applies one reading of one entity, with any attributes the reading carries beyond the entity's own.
   * A reading the entity rejects (not a number, out of range) changes nothing: the reason is returned.
   */
  write(entity: Entity, raw: RawValue, context?: Context, attributes?: Record<string, unknown>): string | undefined {
    const next = entity.toState(raw);
    if (isRejected(next)) return next.rejected;
    if (attributes !== undefined && next.value !== null) Object.assign(next.attributes, attributes);
    const d = entity.description;
    const last = this.lastWritten.get(entity.entityId);
    const current = this.states.get(entity.entityId);
    if (
      "deadband" in d &&
      d.deadband !== undefined &&
      last !== undefined &&
      current?.state !== STATE_UNAVAILABLE &&
      typeof next.value === "number" &&
      typeof last.value === "number" &&
      Math.abs(next.value - last.value) < d.deadband
    ) {
      return;
    }
    const throttleMs = (d.throttle ?? 0) * 1000;
    const now = this.clock.now();
    if (throttleMs > 0 && last !== undefined && now - last.at < throttleMs) {
      const waiting = this.pending.get(entity.entityId);
      if (waiting !== undefined) {
        waiting.state = next; // the latest value wins
        return;
      }
      const timer = this.clock.setTimeout(
        () => {
          const p = this.pending.get(entity.entityId);
          this.pending.delete(entity.entityId);
          if (p !== undefined) this.commit(entity, p.state, context);
        },
        throttleMs - (now - last.at),
      );
      this.pending.set(entity.entityId, { state: next, timer });
      return;
    }
    this.commit(entity, next, context);
  }

  /** Marks an entity unavailable now (no throttle: people need to know at once). */
  markUnavailable(entity: Entity): void {
    this.cancel(entity);
    this.shown.delete(entity.entityId);
    const attributes = entity.baseAttributes();
    this.states.set(entity.entityId, STATE_UNAVAILABLE, attributes);
  }

  /** The value a user sees of an entity's state now: the one made with the state last written, null when it has none or is unavailable. */
  valueOf(entity: Entity): EntityValue {
    return this.shown.get(entity.entityId) ?? null;
  }

  /** Drops a throttled write of an entity. */
  cancel(entity: Entity): void {
    const p = this.pending.get(entity.entityId);
    if (p !== undefined) this.clock.clearTimeout(p.timer);
    this.pending.delete(entity.entityId);
  }

  /** Drops every throttled write (the device is unloading). */
  clear(): void {
    for (const p of this.pending.values()) this.clock.clearTimeout(p.timer);
    this.pending.clear();
  }

  private commit(entity: Entity, state: EntityState, context?: Context): void {
    this.lastWritten.set(entity.entityId, { value: state.value, at: this.clock.now() });
    this.shown.set(entity.entityId, state.value);
    this.states.set(entity.entityId, state.state, state.attributes, { context });
  }
}
