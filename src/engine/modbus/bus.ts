import { Lock } from "../../core/semaphore.ts";
import { abortReason } from "../../core/task.ts";
import { boundedWait, type WaitStart } from "../../core/wait.ts";
import type { Transport } from "../transport.ts";
import { crcValid, rtuFrame } from "./crc.ts";
import { ModbusError } from "./errors.ts";
import { ReplyShapeError, type Request } from "./pdu.ts";

/** How long a request may wait for its reply, and how often a read is tried again. */
export interface RequestOptions {
  signal: AbortSignal;
  /** Milliseconds to wait for the reply. */
  timeoutMs: number;
  /** Further attempts after a timeout or a bad CRC (reads only; writes are never repeated). */
  retries?: number;
  /** Told of each reply to this request that is no reply (a bad CRC, a wrong shape), so its device counts it. */
  onGarbage?: (frame: Uint8Array, why: string) => void;
}

/** Counters of one bus. */
export interface BusStats {
  requests: number;
  retries: number;
  timeouts: number;
  badCrc: number;
  /** Frames nobody waited for, or from another slave than the one asked. */
  strays: number;
}

interface Pending {
  slave: number;
  frame: (frame: Uint8Array) => void;
}

const buses = new WeakMap<Transport, ModbusBus>();

/**
 * A Modbus RTU master on one serial transport. Every device on the transport shares it, so its lock puts one
 * request on the wire at a time across all of them; a request holds the lock only until its own
 * reply or timeout, so a dead slave delays the others by its timeout and no more.
 */
export class ModbusBus {
  readonly lock = new Lock();
  readonly stats: BusStats = { requests: 0, retries: 0, timeouts: 0, badCrc: 0, strays: 0 };
  private readonly transport: Transport;
  /** Milliseconds the line must stay quiet after a frame before the next request goes out. */
  silenceMs: number;
  private pending: Pending | undefined;
  private unlisten: (() => void) | undefined;
  /** performance.now() from which a request may be sent: the last frame's arrival plus the silence. */
  private quietFrom = 0;
  /** What quiet() sleeps on; nobody stores to it, an abort notifies it. */
  private readonly bell = new Int32Array(new SharedArrayBuffer(4));

  constructor(transport: Transport, silenceMs = 0) {
    this.transport = transport;
    this.silenceMs = silenceMs;
  }

  /**
   * The bus of a transport: one per transport, however many devices use it. Devices that ask for different
   * silences (they should not: they share the baud rate) get the longest.
   */
  static of(transport: Transport, silenceMs = 0): ModbusBus {
    let bus = buses.get(transport);
    if (bus === undefined) {
      bus = new ModbusBus(transport, silenceMs);
      buses.set(transport, bus);
    } else bus.silenceMs = Math.max(bus.silenceMs, silenceMs);
    return bus;
  }

  /** Sends one request to `slave` under the bus lock and resolves with its decoded reply. */
  async request<T>(slave: number, request: Request<T>, options: RequestOptions): Promise<T> {
    this.unlisten ??= this.transport.onFrame((frame) => this.onFrame(frame));
    const release = await this.lock.acquire(options.signal);
    try {
      const attempts = request.idempotent ? 1 + (options.retries ?? 0) : 1;
      for (let attempt = 1; ; attempt++) {
        try {
          await this.quiet(options.signal);
          return await this.exchange(slave, request, options);
        } catch (err) {
          const retryable = err instanceof ModbusError && (err.code === "MODBUS_TIMEOUT" || err.code === "MODBUS_BAD_CRC");
          if (options.signal.aborted || !retryable || attempt >= attempts) throw err;
          this.stats.retries++;
        }
      }
    } finally {
      release();
    }
  }

  /**
   * Waits out the silence after the last frame, so that the slaves see the next request as a new frame.
   * Timed with Atomics.waitAsync, which takes fractions of a millisecond and does not fire early:
   * setTimeout(1.75) fires after about 1.1 ms here, and setTimeout(2) after about 2.2.
   */
  private quiet(signal: AbortSignal): Promise<void> | undefined {
    if (this.quietFrom - performance.now() <= 0) return undefined;
    return (async () => {
      const onAbort = () => Atomics.notify(this.bell, 0);
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        for (let left = this.quietFrom - performance.now(); left > 0 && !signal.aborted; left = this.quietFrom - performance.now()) {
          const waited = Atomics.waitAsync(this.bell, 0, 0, left);
          if (waited.async) await waited.value;
        }
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
      if (signal.aborted) throw abortReason(signal);
    })();
  }

  private exchange<T>(slave: number, request: Request<T>, options: RequestOptions): Promise<T> {
    const { signal, timeoutMs } = options;
    const fc = request.functionCode;
    this.stats.requests++;
    const start: WaitStart<T> = (resolve, reject) => {
      const finish = (err: unknown, value?: T) => (err === undefined ? resolve(value as T) : reject(err));
      this.pending = {
        slave,
        frame: (frame) => {
          if (!crcValid(frame)) {
            this.stats.badCrc++;
            options.onGarbage?.(frame, `a reply to fc ${fc} that failed its CRC`);
            return finish(new ModbusError("MODBUS_BAD_CRC", `slave ${slave}: reply to fc ${fc} failed its CRC`, { slave, functionCode: fc }));
          }
          const replyFc = frame[1]!;
          if (replyFc === (fc | 0x80) && frame.length === 5) return finish(ModbusError.exception(slave, fc, frame[2]!, request.name));
          if (replyFc !== fc) {
            options.onGarbage?.(frame, `a reply of fc ${replyFc} to fc ${fc}`);
            return finish(new ModbusError("MODBUS_BAD_REPLY", `slave ${slave}: reply of fc ${replyFc} to fc ${fc}`, { slave, functionCode: fc }));
          }
          try {
            finish(undefined, request.decode(frame.subarray(1, frame.length - 2)));
          } catch (err) {
            if (!(err instanceof ReplyShapeError)) throw err;
            options.onGarbage?.(frame, `a reply to fc ${fc} of the wrong shape: ${err.message}`);
            finish(new ModbusError("MODBUS_BAD_REPLY", `slave ${slave}: fc ${fc}: ${err.message}`, { slave, functionCode: fc, cause: err }));
          }
        },
      };
      this.transport.write(rtuFrame(slave, request.pdu)).catch((err: unknown) => finish(err));
      return () => {
        this.pending = undefined;
      };
    };
    return boundedWait(start, {
      signal,
      timeoutMs,
      onTimeout: () => {
        this.stats.timeouts++;
        throw new ModbusError("MODBUS_TIMEOUT", `slave ${slave}: no reply to fc ${fc} within ${timeoutMs} ms`, { slave, functionCode: fc });
      },
    });
  }

  private onFrame(frame: Uint8Array): void {
    if (this.silenceMs > 0) this.quietFrom = performance.now() + this.silenceMs;
    const pending = this.pending;
    // A reply from another slave is not ours, however well formed: keep waiting for the right one.
    if (pending === undefined || (frame.length >= 4 && frame[0] !== pending.slave && crcValid(frame))) {
      this.stats.strays++;
      return;
    }
    pending.frame(frame);
  }
}
