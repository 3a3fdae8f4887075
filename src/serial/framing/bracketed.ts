import type { Framer, FrameSink } from "./framer.ts";
import { ByteBuffer } from "./grow.ts";

const OUTSIDE = 0;
const BODY = 1;
const TRAILER = 2;

/**
 * Frames that open with a start byte and close with an end byte, then at most `trailer` bytes (a
 * checksum, say) and a delimiter, which is removed. A start byte inside a frame abandons it and opens
 * the next: a stream joined mid-frame resynchronises at the next start. Nothing is silently lost: bytes
 * outside frames (in runs of at most maxLength), an abandoned frame, a frame longer than maxLength and
 * one whose trailer never reaches the delimiter are handed on as they are, so the receiver counts them
 * as garbage; only a frame that reached its delimiter ends in it.
 */
export class BracketedFramer implements Framer {
  /** Frames cut short by their length (handed on, their rest then treated as bytes outside frames). */
  dropped = 0;
  private readonly buffer = new ByteBuffer();
  private state = OUTSIDE;
  /** Bytes since the end byte, while in the trailer. */
  private after = 0;

  constructor(
    private readonly start: number,
    private readonly end: number,
    private readonly trailer: number,
    private readonly delimiter: Uint8Array,
    private readonly sink: FrameSink,
    private readonly maxLength: number,
  ) {
    if (delimiter.length === 0) throw new RangeError("A delimiter needs at least one byte");
  }

  push(chunk: Uint8Array): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.state === OUTSIDE) pos = this.outside(chunk, pos);
      else if (this.state === BODY) pos = this.body(chunk, pos);
      else pos = this.trail(chunk, pos);
    }
  }

  reset(): void {
    this.buffer.length = 0;
    this.state = OUTSIDE;
    this.after = 0;
  }

  dispose(): void {
    this.reset();
  }

  /** Bytes up to the next start byte are handed on as one run (split at maxLength). */
  private outside(chunk: Uint8Array, pos: number): number {
    const s = chunk.indexOf(this.start, pos);
    const stop = s < 0 ? chunk.length : s;
    this.append(chunk, pos, stop);
    if (s < 0) return chunk.length;
    this.flush();
    this.open();
    return s + 1;
  }

  private body(chunk: Uint8Array, pos: number): number {
    const e = chunk.indexOf(this.end, pos);
    const limit = e < 0 ? chunk.length : e;
    const s = chunk.indexOf(this.start, pos);
    if (s >= 0 && s < limit) {
      this.append(chunk, pos, s);
      this.flush(); // abandoned: a new frame began before this one ended
      this.open();
      return s + 1;
    }
    const stop = e < 0 ? chunk.length : e + 1;
    if (this.buffer.length + (stop - pos) > this.maxLength) {
      const room = this.maxLength - this.buffer.length;
      this.buffer.append(chunk.subarray(pos, pos + room));
      this.dropped++;
      this.flush();
      this.state = OUTSIDE;
      return pos + room;
    }
    this.buffer.append(chunk.subarray(pos, stop));
    if (e >= 0) {
      this.state = TRAILER;
      this.after = 0;
    }
    return stop;
  }

  /** A few bytes at most, taken one by one until the delimiter. */
  private trail(chunk: Uint8Array, pos: number): number {
    const byte = chunk[pos]!;
    if (byte === this.start) {
      this.flush(); // no delimiter: handed on as it is, and the next frame opens
      this.open();
      return pos + 1;
    }
    this.buffer.push(byte);
    this.after++;
    const d = this.delimiter;
    const b = this.buffer;
    if (this.after >= d.length) {
      let match = true;
      for (let j = 0; j < d.length && match; j++) match = b.bytes[b.length - d.length + j] === d[j];
      if (match) {
        b.length -= d.length;
        this.sink(b.take());
        this.state = OUTSIDE;
        return pos + 1;
      }
    }
    if (this.after >= this.trailer + d.length) {
      this.flush();
      this.state = OUTSIDE;
    }
    return pos + 1;
  }

  private open(): void {
    this.buffer.push(this.start);
    this.state = BODY;
  }

  /** Adds bytes outside a frame to the run being gathered, handing it on each time it reaches maxLength. */
  private append(chunk: Uint8Array, from: number, to: number): void {
    while (from < to) {
      const n = Math.min(to - from, this.maxLength - this.buffer.length);
      this.buffer.append(chunk.subarray(from, from + n));
      from += n;
      if (this.buffer.length >= this.maxLength) this.flush();
    }
  }

  private flush(): void {
    if (this.buffer.length > 0) this.sink(this.buffer.take());
  }
}
