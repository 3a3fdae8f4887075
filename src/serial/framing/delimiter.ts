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
 * one chunk are copied out once; only a frame split across chunks is assembled in a buffer.
 */
export class DelimiterFramer implements Framer {
  private readonly partial = new ByteBuffer();
  /** Skipping the rest of a frame that grew past maxLength, up to its delimiter. */
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
      const i = indexOf(chunk, d, 0); // a delimiter split across chunks here only costs one more dropped frame
      if (i < 0) return;
      this.discarding = false;
      pos = i + d.length;
    } else if (this.partial.length > 0) {
      pos = this.finishPartial(chunk);
      if (pos < 0) return;
    }
    for (let i = indexOf(chunk, d, pos); i !== -1; i = indexOf(chunk, d, pos)) {
      this.sink(chunk.slice(pos, i));
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
    // A delimiter that began at the end of the buffered bytes: the earliest such start wins.
    for (let k = Math.min(d.length - 1, p.length); k >= 1; k--) {
      if (d.length - k > chunk.length) continue;
      let match = true;
      for (let j = 0; j < k && match; j++) match = p.bytes[p.length - k + j] === d[j];
      for (let j = k; j < d.length && match; j++) match = chunk[j - k] === d[j];
      if (!match) continue;
      p.length -= k;
      this.sink(p.take());
      return d.length - k;
    }
    const i = indexOf(chunk, d, 0);
    if (i < 0) {
      this.keep(chunk);
      return -1;
    }
    p.append(chunk.subarray(0, i));
    this.sink(p.take());
    return i + d.length;
  }

  private keep(bytes: Uint8Array): void {
    // A peer that never sends the delimiter must not grow memory without bound: drop the runaway frame.
    if (this.partial.length + bytes.length > this.maxLength) {
      this.partial.length = 0;
      this.discarding = true;
    } else this.partial.append(bytes);
  }
}
