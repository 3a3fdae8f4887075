import { Context } from "./context.ts";
import { HearthError } from "./errors.ts";

/** Longest state value accepted (as in Home Assistant). */
export const MAX_STATE_LENGTH = 255;

/** Attributes of a state: plain JSON-like data, frozen once stored. */
export type Attributes = Readonly<Record<string, unknown>>;

/** The attributes of a state that has none: one frozen object shared by all, instead of a copy per state. */
export const NO_ATTRIBUTES: Attributes = Object.freeze({});

const ENTITY_ID = /^(?!.+__)(?!_)[\da-z_]+(?<!_)\.(?!_)[\da-z_]+(?<!_)$/;
const validIds = new Set<string>();

/** Whether `entityId` has the form `domain.object_id` (lower case, digits, single underscores inside). */
export function isValidEntityId(entityId: string): boolean {
  if (validIds.has(entityId)) return true;
  if (!ENTITY_ID.test(entityId)) return false;
  if (validIds.size < 100_000) validIds.add(entityId);
  return true;
}

/** Splits `light.kitchen` into `["light", "kitchen"]`. */
export function splitEntityId(entityId: string): [domain: string, objectId: string] {
  const dot = entityId.indexOf(".");
  return [entityId.slice(0, dot), entityId.slice(dot + 1)];
}

/** One entity's state at one moment (HA's State): immutable; a change makes a new one. */
export class State {
  readonly entityId: string;
  readonly state: string;
  readonly attributes: Attributes;
  /** When `state` last took a different value (ms since the epoch). */
  readonly lastChanged: number;
  /** When `state` or an attribute last changed. */
  readonly lastUpdated: number;
  readonly context: Context;

  constructor(entityId: string, state: string, attributes: Attributes = NO_ATTRIBUTES, options: { lastChanged?: number; lastUpdated?: number; context?: Context; validate?: boolean } = {}) {
    if (options.validate !== false) {
      if (!isValidEntityId(entityId)) {
        throw new HearthError("INVALID_ENTITY_ID", `Invalid entity id ${JSON.stringify(entityId)}: expected domain.object_id`);
      }
      if (state.length > MAX_STATE_LENGTH) {
        throw new HearthError("INVALID_STATE", `State of ${entityId} is ${state.length} characters; at most ${MAX_STATE_LENGTH} allowed`);
      }
    }
    const now = options.lastUpdated ?? Date.now();
    this.entityId = entityId;
    this.state = state;
    this.attributes = Object.isFrozen(attributes) ? attributes : Object.freeze({ ...attributes });
    this.lastUpdated = now;
    this.lastChanged = options.lastChanged ?? now;
    this.context = options.context ?? new Context();
  }

  get domain(): string {
    return splitEntityId(this.entityId)[0];
  }

  get objectId(): string {
    return splitEntityId(this.entityId)[1];
  }

  toJSON(): Record<string, unknown> {
    return {
      entity_id: this.entityId,
      state: this.state,
      attributes: this.attributes,
      last_changed: new Date(this.lastChanged).toISOString(),
      last_updated: new Date(this.lastUpdated).toISOString(),
      context: this.context.toJSON(),
    };
  }
}
