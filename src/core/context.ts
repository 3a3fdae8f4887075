let counter = 0;
const processTag = Math.floor(Math.random() * 36 ** 4)
  .toString(36)
  .padStart(4, "0");

/** A short unique id: time, a per-process tag and a counter (cheap enough to make on every event). */
export function newId(): string {
  counter = (counter + 1) % 36 ** 5;
  return `${Date.now().toString(36)}${processTag}${counter.toString(36).padStart(5, "0")}`;
}

/** Who or what caused a change, carried from a command through the state it produced (HA's Context). */
export class Context {
  private _id: string | undefined;
  readonly parentId: string | undefined;
  readonly userId: string | undefined;
  /** Where the change came from: "mqtt", "device", "config", … */
  readonly origin: string | undefined;

  constructor(options: { id?: string; parentId?: string; userId?: string; origin?: string } = {}) {
    this._id = options.id;
    this.parentId = options.parentId;
    this.userId = options.userId;
    this.origin = options.origin;
  }

  /** Made on first read: most contexts are never looked at. */
  get id(): string {
    if (this._id === undefined) this._id = newId();
    return this._id;
  }

  /** A new context caused by this one. */
  child(options: { origin?: string; userId?: string } = {}): Context {
    return new Context({ parentId: this.id, userId: options.userId ?? this.userId, origin: options.origin ?? this.origin });
  }

  toJSON(): { id: string; parent_id: string | null; user_id: string | null; origin: string | null } {
    return { id: this.id, parent_id: this.parentId ?? null, user_id: this.userId ?? null, origin: this.origin ?? null };
  }
}
