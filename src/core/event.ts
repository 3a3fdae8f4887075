import { Context } from "./context.ts";

/** Where an event came from: this process, or a remote one (relayed over MQTT, later). */
export type EventOrigin = "local" | "remote";

/** One occurrence on the bus (HA's Event). */
export class Event<Type extends string = string, Data = unknown> {
  readonly type: Type;
  readonly data: Data;
  readonly origin: EventOrigin;
  /** Milliseconds since the epoch when the event was fired. */
  readonly timeFired: number;
  private _context: Context | undefined;

  constructor(type: Type, data: Data, origin: EventOrigin = "local", context?: Context, timeFired = Date.now()) {
    this.type = type;
    this.data = data;
    this.origin = origin;
    this._context = context;
    this.timeFired = timeFired;
  }

  /** The caller's context, or a fresh one made on first read. */
  get context(): Context {
    if (this._context === undefined) this._context = new Context();
    return this._context;
  }

  toJSON(): Record<string, unknown> {
    return {
      event_type: this.type,
      data: this.data,
      origin: this.origin,
      time_fired: new Date(this.timeFired).toISOString(),
      context: this.context.toJSON(),
    };
  }
}
