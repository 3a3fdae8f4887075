import type { Framer, FrameSink } from "./framer.ts";
import { ByteBuffer } from "./grow.ts";

/** Index of `needle` in `hay` from `from`, or -1. */
function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0]!;
  if (needle.length === 1) return hay.indexOf(first, from);
  const last = hay.length - needle.length;
  for (let i = hay.indexOf(first, from); i !== -1 && i <= last; i = hay.indexOf(first, i + 1)) {
    let j = 1;
    while (j < needle.length && hay[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

/**
 * Frames ended by a delimiter (one byte or several, such as "\r\n"). Frames that lie wholly inside
 * one chunk are copied out once; only a frame split across chunks is assembled in a buffer. A frame
 * longer than maxLength is skipped and counted, whether it came in one chunk or in many.
 */
export class DelimiterFramer implements Framer {
  /** Frames skipped for being longer than maxLength. */
  dropped = 0;
  private readonly partial = new ByteBuffer();
  /** Skipping the rest of a frame that grew past maxLength, up to its delimiter; `partial` then holds only the last few bytes, where a delimiter may begin. */
  private discarding = false;

  constructor(
    private readonly delimiter: Uint8Array,
    private readonly sink: FrameSink,
    private readonly maxLength: number,
  ) {
    if (delimiter.length === 0) throw new RangeError("A delimiter needs at least one byte");
  }

  push(chunk: Uint8Array): void {
    const d = this.delimiter;
    let pos = 0;
    if (this.discarding) {
      pos = this.skipToDelimiter(chunk);
      if (pos < 0) return;
      this.discarding = false;
    } else if (this.partial.length > 0) {
      pos = this.finishPartial(chunk);
      if (pos < 0) return;
    }
    for (let i = indexOf(chunk, d, pos); i !== -1; i = indexOf(chunk, d, pos)) {
      if (i - pos > this.maxLength) this.dropped++;
      else this.sink(chunk.slice(pos, i));
      pos = i + d.length;
    }
    if (pos < chunk.length) this.keep(chunk.subarray(pos));
  }

  reset(): void {
    this.partial.length = 0;
    this.discarding = false;
  }

  dispose(): void {
    this.reset();
  }

  /** Completes the buffered frame from `chunk`; returns where the rest of the chunk starts, or -1 if it is all buffered. */
  private finishPartial(chunk: Uint8Array): number {
    const d = this.delimiter;
    const p = this.partial;
    const k = this.delimiterBegunInBuffer(chunk);
    if (k > 0) {
      p.length -= k;
      this.emitPartial();
      return d.length - k;
    }
    const i = indexOf(chunk, d, 0);
    if (i < 0) {
      this.keep(chunk);
      return -1;
    }
    if (p.length + i > this.maxLength) {
      p.length = 0;
      this.dropped++;
    } else {
      p.append(chunk.subarray(0, i));
      this.sink(p.take());
    }
    return i + d.length;
  }

  /** How many bytes of a delimiter that `chunk` completes lie at the end of the buffer (the earliest such start wins), or 0. */
  private delimiterBegunInBuffer(chunk: Uint8Array): number {
    const d = this.delimiter;
    const p = this.partial;
    for (let k = Math.min(d.length - 1, p.length); k >= 1; k--) {
      if (d.length - k > chunk.length) continue;
      let match = true;
      for (let j = 0; j < k && match; j++) match = p.bytes[p.length - k + j] === d[j];
      for (let j = k; j < d.length && match; j++) match = chunk[j - k] === d[j];
      if (match) return k;
    }
    return 0;
  }

  /** While discarding: where the rest of the chunk starts after the delimiter that ends the dropped frame, or -1. */
  private skipToDelimiter(chunk: Uint8Array): number {
    const d = this.delimiter;
    const k = this.delimiterBegunInBuffer(chunk);
    const i = k > 0 ? -1 : indexOf(chunk, d, 0);
    if (k === 0 && i < 0) {
      this.holdTail(chunk);
      return -1;
    }
    this.partial.length = 0;
    return k > 0 ? d.length - k : i + d.length;
  }

  /** While discarding, keeps in `partial` only the last bytes seen, fewer than a delimiter: one may begin there. */
  private holdTail(chunk: Uint8Array): void {
    const keep = this.delimiter.length - 1;
    const tail = this.partial;
    if (chunk.length >= keep) {
      tail.length = 0;
      tail.append(chunk.subarray(chunk.length - keep));
      return;
    }
    const joined = new Uint8Array(tail.length + chunk.length);
    joined.set(tail.bytes.subarray(0, tail.length));
    joined.set(chunk, tail.length);
    tail.length = 0;
    tail.append(joined.subarray(Math.max(0, joined.length - keep)));
  }

  /** Hands on the buffered frame, or counts it when it is too long. */
  private emitPartial(): void {
    const p = this.partial;
    if (p.length > this.maxLength) {
      p.length = 0;
      this.dropped++;
    } else this.sink(p.take());
  }

  private keep(bytes: Uint8Array): void {
    // A peer that never sends the delimiter must not grow memory without bound: drop the runaway frame.
    // The buffer may hold the first bytes of a delimiter beyond maxLength, so that a frame of exactly
    // maxLength still comes through when its delimiter is split.
    if (this.partial.length + bytes.length > this.maxLength + this.delimiter.length - 1) {
      this.discarding = true;
      this.dropped++;
      this.holdTail(bytes);
    } else this.partial.append(bytes);
  }
}
