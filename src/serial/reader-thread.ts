import { type DedicatedWorker, startDedicatedWorker } from "../core/executor/dedicated.ts";
import type { WorkerScript } from "../core/executor/spawn.ts";
import type { Logger } from "../core/logger.ts";
import { errnoName, SerialError } from "./errors.ts";
import { errno, lib } from "./libc.ts";
import type { ReaderConsumer } from "./reader-pool.ts";
import {
  ACTIVE,
  EV_DATA,
  EV_ERROR,
  EV_REMOVED,
  EV_WRITABLE,
  FREE,
  H_GENERATION,
  H_WAKE_PENDING,
  HEADER_WORDS,
  REMOVING,
  type ReaderStart,
  S_ERROR,
  S_FD,
  S_HEAD,
  S_NOTIFY,
  S_STALLED,
  S_STATE,
  S_TAIL,
  S_WANT_WRITE,
  SLOT_WORDS,
  slotWord,
} from "./reader-protocol.ts";
import { serialReaderLoop } from "./reader-worker.ts";
import { ERRNO, O_CLOEXEC, O_NONBLOCK } from "./termios.ts";

const WAKE_BYTE = new Uint8Array([1]);

/**
 * One reader Worker and its slots, seen from the loop. The Worker is a dedicated Worker of the executor's
 * facility; its loop (reader-worker.ts) tells of bytes through the facility's channel, and a stop writes
 * the wake pipe so that the loop, blocked in poll(2), sees it at once. `start()` makes the pipe and the Worker.
 */
export class ReaderThread {
  readonly control: Int32Array;
  readonly rings: Uint8Array;
  readonly consumers: Array<ReaderConsumer | undefined>;
  /** Slots taken: registered, or removed and not yet acknowledged. */
  used = 0;
  stopping: Promise<void> | undefined;
  private worker: DedicatedWorker<void> | undefined;
  /** The wake pipe's read and write ends; -1 before `start()` and after `stop()`. */
  private readonly wakeFds = new Int32Array([-1, -1]);
  private readonly removals = new Map<number, () => void>();

  constructor(
    readonly slots: number,
    readonly ringSize: number,
    private readonly coalesceMs: number,
    private readonly onEmpty: (thread: ReaderThread) => Promise<void>,
    private readonly log: Logger,
    private readonly script: WorkerScript | undefined,
  ) {
    this.control = new Int32Array(new SharedArrayBuffer((HEADER_WORDS + slots * SLOT_WORDS) * 4));
    this.rings = new Uint8Array(new SharedArrayBuffer(slots * ringSize));
    this.consumers = new Array(slots).fill(undefined);
  }

  /** Makes the wake pipe and starts the Worker's loop. A second call does nothing: the thread has one Worker. */
  start(): void {
    if (this.worker !== undefined || this.stopping !== undefined) return;
    if (lib().pipe2(this.wakeFds, O_NONBLOCK | O_CLOEXEC) !== 0) {
      const e = errno();
      this.wakeFds.fill(-1);
      throw new SerialError("SERIAL_IO_FAILED", `Cannot start a serial reader: pipe2 failed (${errnoName(e)})`, { errno: e });
    }
    const { control, rings, slots, ringSize, coalesceMs } = this;
    const start: ReaderStart = { control: control.buffer as SharedArrayBuffer, rings: rings.buffer as SharedArrayBuffer, slots, ringSize, wakeFd: this.wakeFds[0]!, coalesceMs };
    let worker: DedicatedWorker<void>;
    try {
      worker = startDedicatedWorker(serialReaderLoop, [start], {
        name: "serial reader",
        log: this.log,
        script: this.script,
        onMessage: (events) => this.dispatch(events as number[]),
        onStop: () => {
          // The facility has set the loop's stop flag; a forced wake makes its poll(2) return to see it.
          Atomics.store(this.control, H_WAKE_PENDING, 0);
          this.wake();
        },
      });
    } catch (err) {
      this.closePipe();
      throw err;
    }
    this.worker = worker;
    // A loop that failed (it should not) ends its ports as disconnected; one asked to stop has stopped.
    worker.done.catch(() => {
      if (this.stopping === undefined) this.crashed();
    });
  }

  /** Takes a free slot for `fd`, or returns -1 when all are taken. */
  add(fd: number, consumer: ReaderConsumer): number {
    for (let slot = 0; slot < this.slots; slot++) {
      if (this.consumers[slot] !== undefined || this.removals.has(slot)) continue;
      if (Atomics.load(this.control, slotWord(slot, S_STATE)) !== FREE) continue;
      for (const word of [S_HEAD, S_TAIL, S_NOTIFY, S_WANT_WRITE, S_STALLED, S_ERROR]) Atomics.store(this.control, slotWord(slot, word), 0);
      Atomics.store(this.control, slotWord(slot, S_FD), fd);
      Atomics.store(this.control, slotWord(slot, S_STATE), ACTIVE);
      this.consumers[slot] = consumer;
      this.used++;
      this.wake();
      return slot;
    }
    return -1;
  }

  /**
   * Stops polling a slot; resolves once the Worker no longer touches its fd (then it may be closed),
   * and, when it was the Worker's last slot, once the Worker has exited.
   */
  remove(slot: number): Promise<void> {
    this.consumers[slot] = undefined;
    return new Promise((resolve) => {
      this.removals.set(slot, resolve);
      Atomics.store(this.control, slotWord(slot, S_STATE), REMOVING);
      this.wake();
    });
  }

  /** Makes the Worker look at the table again. At most one byte is ever in the pipe. */
  wake(): void {
    Atomics.add(this.control, H_GENERATION, 1);
    if (this.worker === undefined) return; // not started: its loop reads the table when it starts
    if (Atomics.compareExchange(this.control, H_WAKE_PENDING, 0, 1) === 0) lib().write(this.wakeFds[1]!, WAKE_BYTE, 1);
  }

  /** Ends the Worker's loop (through the facility, which wakes it here) and closes the pipe; resolves when the thread is gone. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const worker = this.worker;
      if (worker !== undefined) {
        await worker.stop();
        await worker.ended;
      }
      this.closePipe();
    })();
    return this.stopping;
  }

  private closePipe(): void {
    for (const fd of this.wakeFds) if (fd >= 0) lib().close(fd);
    this.wakeFds.fill(-1);
  }

  private dispatch(events: number[]): void {
    for (let i = 0; i < events.length; i += 3) {
      const kind = events[i]!;
      const slot = events[i + 1]!;
      const value = events[i + 2]!;
      switch (kind) {
        case EV_DATA: {
          // Cleared before taking the bytes, so bytes that land after this raise a new message.
          Atomics.store(this.control, slotWord(slot, S_NOTIFY), 0);
          this.consumers[slot]?.onData();
          break;
        }
        case EV_WRITABLE:
          this.consumers[slot]?.onWritable();
          break;
        case EV_ERROR:
          this.consumers[slot]?.onError(value);
          break;
        case EV_REMOVED:
          this.acknowledge(slot);
          break;
      }
    }
  }

  private acknowledge(slot: number): void {
    const resolve = this.removals.get(slot);
    if (resolve === undefined) return;
    this.removals.delete(slot);
    this.used--;
    if (this.used === 0) void this.onEmpty(this).then(resolve, resolve);
    else resolve();
  }

  /** A Worker that died (it should not): its ports end as disconnected and their removals complete. */
  private crashed(): void {
    for (let slot = 0; slot < this.slots; slot++) {
      const consumer = this.consumers[slot];
      if (consumer === undefined) continue;
      Atomics.store(this.control, slotWord(slot, S_ERROR), ERRNO.EIO);
      consumer.onError(ERRNO.EIO);
    }
    for (const slot of [...this.removals.keys()]) {
      Atomics.store(this.control, slotWord(slot, S_STATE), FREE);
      this.acknowledge(slot);
    }
  }
}
