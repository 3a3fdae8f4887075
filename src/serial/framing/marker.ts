import type { Framer, FrameSink } from "./framer.ts";
import { ByteBuffer } from "./grow.ts";

/**
 * Frames that end a fixed number of bytes after a marker (VE.Direct's `\r\nChecksum\t` and its one
 * checksum byte): the frame is everything since the previous one, marker and trailing bytes included.
 * The trailing bytes may be anything, a delimiter's bytes too, which is why no delimiter framer can cut
 * these. A frame growing past maxLength without a marker is skipped up to the end of its frame and counted.
 */
export class MarkerFramer implements Framer {
  /** Frames skipped for being longer than maxLength. */
  dropped = 0;
  private readonly partial = new ByteBuffer();
  /** KMP failure table of the marker: where matching resumes after a mismatch. */
  private readonly fallback: Int32Array;
  /** Marker bytes matched so far. */
  private matched = 0;
  /** Trailing bytes still to come once the marker is whole (-1: not in a trailer). */
  private trailer = -1;
  /** Skipping a frame that grew past maxLength, up to its end. */
  private discarding = false;

  constructor(
    private readonly marker: Uint8Array,
    private readonly trailing: number,
    private readonly sink: FrameSink,
    private readonly maxLength: number,
  ) {
    if (marker.length === 0) throw new RangeError("A marker needs at least one byte");
    this.fallback = failureTable(marker);
  }

  push(chunk: Uint8Array): void {
    const m = this.marker;
    let start = 0; // first byte of `chunk` not yet in `partial`
    for (let i = 0; i < chunk.length; i++) {
      if (this.trailer > 0) {
        if (--this.trailer === 0) {
          this.end(chunk, start, i + 1);
          start = i + 1;
        }
        continue;
      }
      const b = chunk[i]!;
      if (this.matched === 0) {
        // Most bytes are not the marker's first: jump to the next one that is.
        const next = chunk.indexOf(m[0]!, i);
        if (next < 0) break;
        i = next;
        this.matched = 1;
      } else {
        while (this.matched > 0 && m[this.matched] !== b) this.matched = this.fallback[this.matched - 1]!;
        if (m[this.matched] === b) this.matched++;
      }
      if (this.matched === m.length) {
        this.matched = 0;
        this.trailer = this.trailing;
        if (this.trailing === 0) {
          this.trailer = -1;
          this.end(chunk, start, i + 1);
          start = i + 1;
        }
      }
    }
    if (start < chunk.length) this.keep(chunk.subarray(start));
  }

  reset(): void {
    this.partial.length = 0;
    this.matched = 0;
    this.trailer = -1;
    this.discarding = false;
  }

  dispose(): void {
    this.reset();
  }

  /** A frame ends at `to` in `chunk`: hand on what is buffered and `chunk[from, to)`, unless it was too long. */
  private end(chunk: Uint8Array, from: number, to: number): void {
    this.trailer = -1;
    const p = this.partial;
    if (this.discarding || p.length + (to - from) > this.maxLength) {
      if (!this.discarding) this.dropped++;
      this.discarding = false;
      p.length = 0;
      return;
    }
    if (p.length === 0) this.sink(chunk.slice(from, to));
    else {
      p.append(chunk.subarray(from, to));
      this.sink(p.take());
    }
  }

  private keep(bytes: Uint8Array): void {
    if (this.discarding) return;
    // A peer that never sends the marker must not grow memory without bound.
    if (this.partial.length + bytes.length > this.maxLength) {
      this.partial.length = 0;
      this.discarding = true;
      this.dropped++;
    } else this.partial.append(bytes);
  }
}

function failureTable(m: Uint8Array): Int32Array {
  const f = new Int32Array(m.length);
  for (let i = 1, k = 0; i < m.length; i++) {
    while (k > 0 && m[i] !== m[k]) k = f[k - 1]!;
    if (m[i] === m[k]) k++;
    f[i] = k;
  }
  return f;
}
