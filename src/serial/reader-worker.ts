/**
 * A reader Worker: blocks in poll(2) on the ports of its slots and on a wake pipe, reads whatever
 * arrives straight into each port's shared ring, and tells the loop in one small message per batch.
 * See reader-protocol.ts for the shared table. It runs on the executor's dedicated-worker facility
 * (src/core/executor/dedicated.ts), started by reader-thread.ts; its messages go through the
 * facility's channel (context.post). This module must stay free of side effects: executor Workers import it.
 */
import { ptr } from "bun:ffi";
import { type DedicatedContext, dedicatedTask } from "../core/executor/registered-task.ts";
import { errnoName, SerialError } from "./errors.ts";
import { errno, lib } from "./libc.ts";
import {
  ACTIVE,
  EV_DATA,
  EV_ERROR,
  EV_REMOVED,
  EV_WRITABLE,
  FREE,
  H_GENERATION,
  H_WAKE_PENDING,
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
  slotWord,
} from "./reader-protocol.ts";
import { ERRNO, POLL, POLLFD_SIZE, SHUTDOWN_SIGNALS, SIG_BLOCK, SIGSET_SIZE } from "./termios.ts";

/** Reads per port per wake-up before the others get their turn. */
const MAX_READS_PER_WAKE = 8;
/** A read this big means a port is streaming: no napping then, it would only cap the rate. */
const STREAMING_CHUNK = 1024;

/** The reader loop of one Worker; returns once the loop side asks it to stop. */
export const serialReaderLoop = dedicatedTask(import.meta.url, "serialReaderLoop", (context: DedicatedContext, start: ReaderStart): void => {
  const c = lib();
  // SIGHUP, SIGINT, SIGQUIT and SIGTERM are the loop's: let the kernel hand them to another thread than
  // this one, which sits in poll for ever. Only these: the runtime signals its threads for GC.
  const mask = new Uint8Array(SIGSET_SIZE);
  for (const signal of SHUTDOWN_SIGNALS) mask[(signal - 1) >> 3]! |= 1 << ((signal - 1) & 7);
  c.sigprocmask(SIG_BLOCK, mask, null);
  const control = new Int32Array(start.control);
  const ringBase = ptr(new Uint8Array(start.rings));
  const { slots, ringSize, wakeFd, coalesceMs } = start;
  // pollfd[0] is the wake pipe; then one entry per polled slot.
  const pollBuffer = new ArrayBuffer((slots + 1) * POLLFD_SIZE);
  const pollInts = new Int32Array(pollBuffer);
  const pollShorts = new Int16Array(pollBuffer);
  const pollPointer = ptr(pollInts);
  const polledSlot = new Int32Array(slots + 1);
  const drain = new Uint8Array(64);
  /** Slots with bytes the loop has not been told about yet. */
  const unannounced = new Uint8Array(slots);
  let unannouncedCount = 0;
  let urgent = false;
  let lastAnnounced = -Infinity;
  let events: number[] = [];
  let generation = -1;
  let dirty = true;
  let count = 1;
  /** The biggest read of this wake-up, and when the previous wake-up that read anything was. */
  let biggestRead = 0;
  let lastDataWake = -Infinity;

  const fail = (slot: number, code: number): true => {
    Atomics.store(control, slotWord(slot, S_ERROR), code);
    events.push(EV_ERROR, slot, code);
    dirty = true;
    return true;
  };

  /** Reads what the port has into its ring; false when nothing came and nothing failed. */
  const readSlot = (slot: number, fd: number): boolean => {
    const headAt = slotWord(slot, S_HEAD);
    const tailAt = slotWord(slot, S_TAIL);
    let head = Atomics.load(control, headAt) >>> 0;
    let got = false;
    let failed = false;
    let space = 0;
    for (let i = 0; i < MAX_READS_PER_WAKE; i++) {
      space = ringSize - ((head - (Atomics.load(control, tailAt) >>> 0)) >>> 0);
      if (space === 0) {
        Atomics.store(control, slotWord(slot, S_STALLED), 1);
        // The loop may have taken bytes between the two loads: look once more before sleeping on it.
        space = ringSize - ((head - (Atomics.load(control, tailAt) >>> 0)) >>> 0);
        if (space === 0) {
          dirty = true;
          break;
        }
        Atomics.store(control, slotWord(slot, S_STALLED), 0);
      }
      const at = head % ringSize;
      const room = Math.min(space, ringSize - at);
      const n = c.read(fd, (ringBase + slot * ringSize + at) as typeof ringBase, room);
      if (n > 0) {
        head = (head + n) >>> 0;
        Atomics.store(control, headAt, head | 0);
        got = true;
        space -= n;
        if (n > biggestRead) biggestRead = n;
        // A small read drained what the kernel had; after a big one more is likely there already, and
        // reading again now is cheaper than another poll.
        if (n < room && n < STREAMING_CHUNK) break;
        continue;
      }
      if (n === 0) failed = fail(slot, -1);
      else {
        const e = errno();
        if (e !== ERRNO.EAGAIN && e !== ERRNO.EINTR) failed = fail(slot, e);
      }
      break;
    }
    if (got) {
      if (unannounced[slot] === 0) {
        unannounced[slot] = 1;
        unannouncedCount++;
      }
      if (space < ringSize / 2) urgent = true;
    }
    return got || failed;
  };

  /** Tells the loop about every slot with new bytes, in the message about to be sent. */
  const announce = (now: number) => {
    for (let slot = 0; slot < slots && unannouncedCount > 0; slot++) {
      if (unannounced[slot] === 0) continue;
      unannounced[slot] = 0;
      unannouncedCount--;
      if (Atomics.compareExchange(control, slotWord(slot, S_NOTIFY), 0, 1) === 0) events.push(EV_DATA, slot, 0);
    }
    urgent = false;
    lastAnnounced = now;
  };

  /** Rebuilds the poll set from the table; acknowledges removed slots. */
  const rebuild = () => {
    count = 1;
    pollInts[0] = wakeFd;
    pollShorts[2] = POLL.IN;
    for (let slot = 0; slot < slots; slot++) {
      const state = Atomics.load(control, slotWord(slot, S_STATE));
      if (state === FREE) continue;
      if (state === REMOVING) {
        Atomics.store(control, slotWord(slot, S_STATE), FREE);
        if (unannounced[slot] !== 0) {
          unannounced[slot] = 0;
          unannouncedCount--;
        }
        events.push(EV_REMOVED, slot, 0);
        continue;
      }
      if (state !== ACTIVE || Atomics.load(control, slotWord(slot, S_ERROR)) !== 0) continue;
      let want = 0;
      if (Atomics.load(control, slotWord(slot, S_STALLED)) === 0) want |= POLL.IN;
      if (Atomics.load(control, slotWord(slot, S_WANT_WRITE)) !== 0) want |= POLL.OUT;
      if (want === 0) continue;
      pollInts[count * 2] = Atomics.load(control, slotWord(slot, S_FD));
      pollShorts[count * 4 + 2] = want;
      polledSlot[count] = slot;
      count++;
    }
    dirty = false;
  };

  /**
   * Drains the wake pipe, then clears the flag: a wake that lands in between leaves its byte or is seen
   * by the next scan of the table (which follows the clear); clearing first could swallow a byte while
   * the flag says one is pending, and every later wake would be skipped.
   */
  const takeWake = () => {
    while (c.read(wakeFd, drain, drain.length) > 0) {}
    Atomics.store(control, H_WAKE_PENDING, 0);
  };

  while (!context.stopRequested) {
    const g = Atomics.load(control, H_GENERATION);
    if (dirty || g !== generation) {
      generation = g;
      rebuild();
    }
    let timeout = -1;
    if (unannouncedCount > 0) {
      const now = performance.now();
      const wait = lastAnnounced + coalesceMs - now;
      if (urgent || wait <= 0) announce(now);
      else timeout = Math.ceil(wait);
    }
    if (events.length > 0) {
      context.post(events);
      events = [];
    }
    for (let i = 0; i < count; i++) pollShorts[i * 4 + 3] = 0;
    // Napping: small reads in quick succession (many ports trickling, as UARTs do) are gathered by
    // watching only the wake pipe for a moment, then reading every port that got bytes in one pass.
    const nap = biggestRead > 0 && biggestRead < STREAMING_CHUNK && coalesceMs > 0 && performance.now() - lastDataWake < 4 * coalesceMs;
    if (biggestRead > 0) lastDataWake = performance.now();
    biggestRead = 0;
    if (nap && c.poll(pollPointer, 1, coalesceMs) > 0) takeWake();
    const ready = c.poll(pollPointer, count, nap ? 0 : timeout);
    if (ready < 0) {
      const e = errno();
      if (e === ERRNO.EINTR) continue;
      throw new SerialError("SERIAL_IO_FAILED", `reader poll failed: ${errnoName(e)}`, { errno: e });
    }
    if (pollShorts[3] !== 0) takeWake();
    for (let i = 1; i < count && ready > 0; i++) {
      const revents = pollShorts[i * 4 + 3]!;
      if (revents === 0) continue;
      const slot = polledSlot[i]!;
      const fd = pollInts[i * 2]!;
      if (revents & POLL.NVAL) {
        fail(slot, ERRNO.EBADF);
        continue;
      }
      if (revents & (POLL.IN | POLL.HUP | POLL.ERR)) {
        const progressed = readSlot(slot, fd);
        // A hang-up that neither yields bytes nor fails a read would wake poll forever: end the port.
        if (!progressed && revents & (POLL.HUP | POLL.ERR) && Atomics.load(control, slotWord(slot, S_STALLED)) === 0) {
          fail(slot, ERRNO.EIO);
        }
      }
      if (revents & POLL.OUT && Atomics.load(control, slotWord(slot, S_WANT_WRITE)) !== 0) {
        Atomics.store(control, slotWord(slot, S_WANT_WRITE), 0);
        events.push(EV_WRITABLE, slot, 0);
        dirty = true;
      }
    }
    // Errors and removals go out with the bytes before them.
    if (events.length > 0 && unannouncedCount > 0) announce(performance.now());
  }
});
