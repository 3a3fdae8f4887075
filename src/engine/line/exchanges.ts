import { boundedWait } from "../../core/wait.ts";
import type { RawValue } from "../../entities/entity.ts";
import { DeviceError } from "../device-error.ts";

/** A command on the wire, waiting for its reply. */
export interface Exchange {
  /** With the readings its reply carries. */
  resolve(readings: Map<string, RawValue>): void;
  reject(err: Error): void;
}

/**
 * The commands waiting for their replies. With ids, a reply finds its command by the id it echoes; without,
 * the one command waiting takes the next reply, and a second reply finds none — the device's semaphore
 * keeps one command in flight, and this refuses a second rather than let two share one reply.
 */
export class Exchanges {
  readonly byId: boolean;
  private readonly deviceId: string;
  private readonly range: readonly [number, number];
  private readonly pending = new Map<string, Exchange>();
  private waiting: Exchange | undefined;
  private nextId: number;

  constructor(options: { deviceId: string; byId: boolean; idRange: readonly [number, number] }) {
    this.deviceId = options.deviceId;
    this.byId = options.byId;
    this.range = options.idRange;
    this.nextId = options.idRange[0];
  }

  /** Sends one command through `write` (given its id, with ids) and waits for its reply until `signal` fires. */
  run(write: (id: string | undefined) => Promise<void>, signal: AbortSignal): Promise<Map<string, RawValue>> {
    if (!this.byId && this.waiting !== undefined) {
      return Promise.reject(new DeviceError("DEVICE_BUSY", this.deviceId, "a command is already waiting for its reply, and replies carry no id to tell them apart"));
    }
    const id = this.byId ? this.takeId() : undefined;
    return boundedWait<Map<string, RawValue>>(
      (resolve, reject) => {
        const exchange: Exchange = { resolve, reject };
        if (id === undefined) this.waiting = exchange;
        else this.pending.set(id, exchange);
        write(id).catch(reject);
        return () => {
          if (id !== undefined) this.pending.delete(id);
          else if (this.waiting === exchange) this.waiting = undefined;
        };
      },
      { signal },
    );
  }

  /** The command a reply with `id` answers (without ids: the one waiting, whatever the reply's id), now no longer waiting. */
  take(id: string | undefined): Exchange | undefined {
    if (!this.byId) {
      const exchange = this.waiting;
      this.waiting = undefined;
      return exchange;
    }
    if (id === undefined) return undefined;
    const exchange = this.pending.get(id);
    this.pending.delete(id);
    return exchange;
  }

  /** Fails every waiting command (the driver stops). */
  rejectAll(err: Error): void {
    for (const exchange of [...this.pending.values(), ...(this.waiting === undefined ? [] : [this.waiting])]) exchange.reject(err);
    this.pending.clear();
    this.waiting = undefined;
  }

  private takeId(): string {
    const [low, high] = this.range;
    const id = String(this.nextId);
    this.nextId = this.nextId >= high ? low : this.nextId + 1;
    return id;
  }
}
