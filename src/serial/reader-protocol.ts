/**
 * What the loop and a reader Worker share. The Worker spends its life blocked in poll(2), so it never
 * runs its own event loop and cannot receive messages after start: the loop talks to it through a
 * SharedArrayBuffer (a table of slots, one per port) and wakes it with a byte on a pipe. The Worker
 * answers with small batches of [kind, slot, value] triples through its dedicated-worker channel
 * (context.post); it is asked to stop through the same facility (its stop flag, then a wake).
 *
 * Each slot owns a ring in one shared buffer of rings. The Worker read(2)s straight into its slot's
 * ring and advances HEAD; the loop copies out and advances TAIL. When a ring is full the Worker stops
 * polling that port (STALLED) until the loop frees space and wakes it, so the kernel's own flow control
 * (and RTS/CTS when enabled) applies instead of unbounded buffering.
 */

/** Words (Int32) of the header before the slots. */
export const HEADER_WORDS = 2;
/** Header word: 1 while a wake byte is in the pipe and not yet drained (so the loop writes at most one). */
export const H_WAKE_PENDING = 0;
/** Header word: bumped by the loop whenever it changes the table; the Worker rebuilds its poll set when it moves. */
export const H_GENERATION = 1;

/** Words per slot. */
export const SLOT_WORDS = 8;
/** Slot word: FREE, ACTIVE or REMOVING. */
export const S_STATE = 0;
/** Slot word: the file descriptor polled. */
export const S_FD = 1;
/** Slot word: bytes written into the ring by the Worker (wraps at 2^32). */
export const S_HEAD = 2;
/** Slot word: bytes taken from the ring by the loop (wraps at 2^32). */
export const S_TAIL = 3;
/** Slot word: 1 while a DATA message is on its way and the loop has not yet taken it. */
export const S_NOTIFY = 4;
/** Slot word: 1 while the loop waits for the port to become writable. */
export const S_WANT_WRITE = 5;
/** Slot word: 1 while the ring is full and the Worker has stopped reading the port. */
export const S_STALLED = 6;
/** Slot word: 0, or the errno that ended reading (-1 for end of file: a hang-up). */
export const S_ERROR = 7;

/** Slot states. */
export const FREE = 0;
export const ACTIVE = 1;
export const REMOVING = 2;

/** Kinds of the Worker's messages. */
export const EV_DATA = 1;
export const EV_WRITABLE = 2;
export const EV_ERROR = 3;
export const EV_REMOVED = 4;

/** Sent once to a new reader Worker. */
export interface ReaderStart {
  control: SharedArrayBuffer;
  rings: SharedArrayBuffer;
  slots: number;
  ringSize: number;
  wakeFd: number;
  /**
   * After telling the loop about data, the Worker waits this long (ms) before telling it again, unless a
   * ring is half full: bytes keep flowing into the rings meanwhile, and the loop wakes once per batch
   * instead of once per read (interrupt moderation). 0 tells at once.
   */
  coalesceMs: number;
}

/** Index of a slot's word in the control table. */
export function slotWord(slot: number, word: number): number {
  return HEADER_WORDS + slot * SLOT_WORDS + word;
}
