import type { WorkerScript } from "../core/executor/spawn.ts";
import { createLogger, type Logger } from "../core/logger.ts";
import { S_ERROR, S_HEAD, S_STALLED, S_TAIL, S_WANT_WRITE, slotWord } from "./reader-protocol.ts";
import { ReaderThread } from "./reader-thread.ts";

/** What a port registered with the pool hears from its reader Worker (on the loop thread). */
export interface ReaderConsumer {
  /** Bytes are waiting in the slot's ring. */
  onData(): void;
  /** The port can take more bytes (after `wantWrite`). */
  onWritable(): void;
  /** Reading ended: an errno, or -1 for end of file (a hang-up). */
  onError(code: number): void;
}

export interface ReaderPoolOptions {
  /** Ports one Worker polls (default 32: fifty ports cost two Workers). */
  portsPerWorker?: number;
  /** Bytes buffered per port between the Worker and the loop (default 64 KiB; a power of two). */
  ringSize?: number;
  /**
   * How long (ms) a Worker lets bytes gather before waking the loop again after it last did (default 0:
   * at once). A positive value batches a steady stream, and small reads in quick succession, into fewer
   * wake-ups of the loop, at the price of up to that much latency on every message: measured here, 1 ms
   * added 1 ms to the median and 5 ms to the p99 from a device's write to MQTT, and saved no CPU on
   * eight 115200-baud links (npm run bench -- serial / mqtt).
   */
  coalesceMs?: number;
  /** Where a reader Worker's failure is told (default: a logger of its own on stdout, as ports may open without a hub). */
  log?: Logger;
  /**
   * What a reader Worker starts on: the executor's entry, handed down by the composition root
   * (src/worker-entries.ts); default, from source only: core's own Worker loop.
   */
  workerScript?: WorkerScript;
}

/** How many reader Workers run and how many ports they poll. */
export interface ReaderStats {
  workers: number;
  ports: number;
}

/** A port's place in a reader Worker: its ring and flags, seen from the loop. */
export class ReaderSlot {
  private tail = 0;
  private readonly ring: Uint8Array;

  constructor(
    private readonly thread: ReaderThread,
    readonly index: number,
  ) {
    const size = thread.ringSize;
    this.ring = thread.rings.subarray(index * size, (index + 1) * size);
  }

  /** Bytes waiting in the ring. */
  available(): number {
    return ((Atomics.load(this.thread.control, slotWord(this.index, S_HEAD)) >>> 0) - this.tail) >>> 0;
  }

  /** Copies up to `length` waiting bytes into `dest` at `offset`; returns how many. */
  copyOut(dest: Uint8Array, offset: number, length: number): number {
    const n = Math.min(this.available(), length);
    if (n === 0) return 0;
    const size = this.thread.ringSize;
    const at = this.tail % size;
    const first = Math.min(n, size - at);
    dest.set(this.ring.subarray(at, at + first), offset);
    if (n > first) dest.set(this.ring.subarray(0, n - first), offset + first);
    this.advance(n);
    return n;
  }

  /** Hands the waiting bytes to `fn` as one or two views of the ring (valid only during the call), then frees them. */
  consume(fn: (chunk: Uint8Array) => void): number {
    const n = this.available();
    if (n === 0) return 0;
    const size = this.thread.ringSize;
    const at = this.tail % size;
    const first = Math.min(n, size - at);
    try {
      fn(this.ring.subarray(at, at + first));
      if (n > first) fn(this.ring.subarray(0, n - first));
    } finally {
      this.advance(n);
    }
    return n;
  }

  /** Drops the waiting bytes (tcflush's counterpart for what was already read). */
  discard(): void {
    this.advance(this.available());
  }

  /** The errno that ended reading (-1: end of file), or 0. */
  error(): number {
    return Atomics.load(this.thread.control, slotWord(this.index, S_ERROR));
  }

  /** Asks for one `onWritable` when the port can take more bytes. */
  wantWrite(): void {
    Atomics.store(this.thread.control, slotWord(this.index, S_WANT_WRITE), 1);
    this.thread.wake();
  }

  /** Stops polling; resolves when the Worker no longer touches the fd. */
  remove(): Promise<void> {
    return this.thread.remove(this.index);
  }

  private advance(n: number): void {
    const control = this.thread.control;
    this.tail = (this.tail + n) >>> 0;
    Atomics.store(control, slotWord(this.index, S_TAIL), this.tail | 0);
    if (Atomics.load(control, slotWord(this.index, S_STALLED)) !== 0) {
      Atomics.store(control, slotWord(this.index, S_STALLED), 0);
      this.thread.wake();
    }
  }
}

/**
 * The reader Workers of the process: each polls up to `portsPerWorker` ports, started when a port needs
 * one and stopped when its last port is removed, so an idle hearth holds no reader thread.
 */
export class ReaderPool {
  private readonly portsPerWorker: number;
  private readonly ringSize: number;
  private readonly coalesceMs: number;
  private logger: Logger | undefined;
  private workerScript: WorkerScript | undefined;
  private readonly threads = new Set<ReaderThread>();
  private readonly stopping = new Set<Promise<void>>();

  constructor(options: ReaderPoolOptions = {}) {
    this.portsPerWorker = options.portsPerWorker ?? 32;
    this.ringSize = options.ringSize ?? 64 * 1024;
    this.coalesceMs = options.coalesceMs ?? 0;
    this.logger = options.log;
    this.workerScript = options.workerScript;
  }

  private get log(): Logger {
    return this.logger ?? defaultLog();
  }

  /**
   * From now on: tells reader failures through `log` (the service's, so its lines look like the rest),
   * and starts reader Workers on `workerScript` (the composition root's executor entry).
   */
  configure(options: Pick<ReaderPoolOptions, "log" | "workerScript">): void {
    if (options.log !== undefined) this.logger = options.log;
    if (options.workerScript !== undefined) this.workerScript = options.workerScript;
  }

  /** Starts polling `fd` for `consumer`, on a Worker with a free slot or a new one. */
  add(fd: number, consumer: ReaderConsumer): ReaderSlot {
    for (const thread of this.threads) {
      if (thread.stopping !== undefined) continue;
      const slot = thread.add(fd, consumer);
      if (slot >= 0) return new ReaderSlot(thread, slot);
    }
    const thread = new ReaderThread(this.portsPerWorker, this.ringSize, this.coalesceMs, (t) => this.retire(t), this.log, this.workerScript);
    thread.start();
    this.threads.add(thread);
    return new ReaderSlot(thread, thread.add(fd, consumer));
  }

  /** Resolves once every Worker that was stopping has exited. */
  async idle(): Promise<void> {
    while (this.stopping.size > 0) await Promise.all(this.stopping);
  }

  stats(): ReaderStats {
    let ports = 0;
    for (const thread of this.threads) ports += thread.used;
    return { workers: this.threads.size, ports };
  }

  private retire(thread: ReaderThread): Promise<void> {
    const stopping = thread.stop().finally(() => {
      this.threads.delete(thread);
      this.stopping.delete(stopping);
    });
    this.stopping.add(stopping);
    return stopping;
  }
}

let fallbackLog: Logger | undefined;
/** Made at the first reader Worker, not at import. */
function defaultLog(): Logger {
  fallbackLog ??= createLogger().child({ component: "serial" });
  return fallbackLog;
}

/** The pool ports use unless given another. */
export const sharedReaderPool = new ReaderPool();
