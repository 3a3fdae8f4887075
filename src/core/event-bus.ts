import type { Context } from "./context.ts";
import { Event, type EventOrigin } from "./event.ts";
import { callback, Job, type JobTarget, JobType } from "./job.ts";
import { jobSlot } from "./job-slot.ts";
import type { Logger } from "./logger.ts";
import { boundedWait } from "./wait.ts";

/** Listen to this to receive every event. */
export const MATCH_ALL = "*";

/**
 * A map of event type to the type of its data: an interface, closed (no index signature), so a name it
 * does not list is a type error; other modules add their events to it by declaration merging.
 */
export type EventMap = object;

type AnyEvent<M extends EventMap> = { [K in keyof M & string]: Event<K, M[K]> }[keyof M & string];
/** The event a listener of `K` receives (every event for MATCH_ALL). */
export type EventFor<M extends EventMap, K extends string> = K extends keyof M ? Event<K, M[K]> : AnyEvent<M>;
type DataFor<M extends EventMap, K extends string> = K extends keyof M ? M[K] : M[keyof M];

export interface ListenOptions<Data> {
  /** Runs first, synchronously, with the event's data; the listener runs only when it returns true. */
  filter?: (data: Data) => boolean;
  /** Name in logs (defaults to the listener's function name). */
  name?: string;
}

interface Listener {
  readonly type: string;
  readonly job: Job;
  readonly filter: ((data: unknown) => boolean) | undefined;
  once: boolean;
  removed: boolean;
}

/** Options of one fire. */
export interface FireOptions {
  context?: Context;
  origin?: EventOrigin;
  /** Epoch ms the event happened, when the caller has just read the clock; read at delivery otherwise. */
  timeFired?: number;
}

export interface EventBusDeps {
  log: Logger;
  /** Runs a non-callback listener job: as a task (which logs its own failure), or on the executor (a promise). */
  runJob: (job: Job, event: Event) => unknown;
}

/**
 * The typed event bus (HA's EventBus). Callback listeners run synchronously in the order they were
 * added; coroutine listeners become tasks. A listener's error is logged with its name and never stops the others.
 */
export class EventBus<M extends EventMap> {
  private readonly deps: EventBusDeps;
  // Arrays are replaced, never mutated, so a fire in progress iterates a stable snapshot.
  private readonly listeners = new Map<string, Listener[]>();
  private matchAll: Listener[] = [];

  constructor(deps: EventBusDeps) {
    this.deps = deps;
  }

  /**
   * Fires an event; callback listeners have run when this returns. `timeFired` is for a caller that has
   * just read the clock anyway (the state machine stamps the state and its event with one reading).
   */
  fire<K extends keyof M & string>(type: K, data: M[K], options?: FireOptions): void {
    const typed = this.listeners.get(type);
    const all = this.matchAll;
    if (typed === undefined && all.length === 0) return;
    // The Event is made when the first listener takes it (its filter passed), as in HA: an event every
    // filter rejects costs no allocation and no clock reading (Date.now() is ~40 ns, more than the rest of a fire).
    let event: Event | undefined;
    if (typed !== undefined) for (let i = 0; i < typed.length; i++) event = this.dispatch(typed[i]!, type, data, options, event);
    for (let i = 0; i < all.length; i++) event = this.dispatch(all[i]!, type, data, options, event);
  }

  /** Calls `listener` for each event of `type` (or every event, with MATCH_ALL); returns the function that removes it. */
  listen<K extends (keyof M & string) | typeof MATCH_ALL>(type: K, listener: JobTarget | Job, options: ListenOptions<DataFor<M, K>> = {}): () => void {
    return this.add(type, listener, options, false);
  }

  /** Like listen, for the next matching event only. */
  listenOnce<K extends (keyof M & string) | typeof MATCH_ALL>(type: K, listener: JobTarget | Job, options: ListenOptions<DataFor<M, K>> = {}): () => void {
    return this.add(type, listener, options, true);
  }

  /** Resolves with the next event of `type` that passes `filter`; rejects if `signal` fires first. */
  waitFor<K extends keyof M & string>(type: K, filter?: (data: M[K]) => boolean, signal?: AbortSignal): Promise<Event<K, M[K]>> {
    return boundedWait<Event<K, M[K]>>((resolve) => this.add(type, new Job(callback(resolve), { name: `waitFor ${type}` }), { filter: filter as ((data: unknown) => boolean) | undefined }, true), {
      signal,
    });
  }

  /** How many listeners each event type has. */
  listenerCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const [type, list] of this.listeners) counts[type] = list.length;
    if (this.matchAll.length > 0) counts[MATCH_ALL] = this.matchAll.length;
    return counts;
  }

  private add(type: string, target: JobTarget | Job, options: ListenOptions<never>, once: boolean): () => void {
    const job = target instanceof Job ? target : new Job(target, { name: options.name });
    const listener: Listener = {
      type,
      job,
      filter: options.filter as ((data: unknown) => boolean) | undefined,
      once,
      removed: false,
    };
    if (type === MATCH_ALL) this.matchAll = [...this.matchAll, listener];
    else this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
    return () => this.remove(listener);
  }

  private remove(listener: Listener): void {
    if (listener.removed) return;
    listener.removed = true;
    const type = listener.type;
    if (type === MATCH_ALL) {
      this.matchAll = this.matchAll.filter((l) => l !== listener);
      return;
    }
    const rest = (this.listeners.get(type) ?? []).filter((l) => l !== listener);
    if (rest.length === 0) this.listeners.delete(type);
    else this.listeners.set(type, rest);
  }

  /** Runs one listener (if its filter passes); returns the fire's event, made here if no listener before took it. */
  private dispatch(listener: Listener, type: string, data: unknown, options: FireOptions | undefined, made: Event | undefined): Event | undefined {
    if (listener.removed) return made; // removed by an earlier listener of this same fire
    let event = made;
    const outer = jobSlot[0]!;
    jobSlot[0] = listener.job.slotId; // lets the loop monitor name a listener that holds the loop
    try {
      if (listener.filter === undefined || listener.filter(data)) {
        event ??= new Event(type, data, options?.origin, options?.context, options?.timeFired);
        if (listener.once) this.remove(listener);
        if (listener.job.type === JobType.Callback) (listener.job.target as (e: Event) => void)(event);
        else {
          const result = this.deps.runJob(listener.job, event);
          // A task logs its own failure; an executor job's promise has nobody else to watch it.
          if (result instanceof Promise) result.catch((err: unknown) => this.logError(err, listener, type));
        }
      }
    } catch (err) {
      this.logError(err, listener, type);
    } finally {
      jobSlot[0] = outer;
    }
    return event;
  }

  private logError(err: unknown, listener: Listener, type: string): void {
    this.deps.log.error({ err, listener: listener.job.name, event: type }, `Error in listener ${listener.job.name} for ${type}`);
  }
}
