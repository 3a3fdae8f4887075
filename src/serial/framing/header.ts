import type { Framer, FrameSink } from "./framer.ts";

/** Where a frame's length is written in it: `size` bytes at `offset`; the frame is `value + adds` bytes long. */
export interface LengthField {
  offset: number;
  size: 1 | 2;
  order: "big" | "little";
  /** Added to the field's value to make the whole frame's length (the header and the field itself, say). */
  adds: number;
}

/** What a HeaderFramer needs: the header, the frame's length (fixed or a field), its bounds, and the check that says a frame is whole and sound. */
export interface HeaderFraming {
  header: Uint8Array;
  length: number | LengthField;
  /** The longest frame a length field may announce; a longer one is a corrupt field. */
  maxLength: number;
  /** The shortest a length field may announce (the header, the field, the checksum). */
  minLength: number;
  /** True when a cut frame is sound (its tail and checksum); a frame that is not is still handed on, but the scan resumes one byte after its header. */
  check?: (frame: Uint8Array) => boolean;
}

/**
 * Binary frames that start with a header and have a fixed length or a length field. Bytes before a
 * header are handed on as one frame of noise (the receiver sees it does not start with the header),
 * gathered until the next header, in pieces of at most `maxLength`. A frame that fails `check`, or whose length
 * field is out of bounds, is handed on too (its receiver says why it is bad), and the scan resumes one
 * byte after its header, so a good frame that began inside it is not lost; its bytes are not handed
 * on again as noise.
 */
export class HeaderFramer implements Framer {
  private buffer = new Uint8Array(512);
  private start = 0;
  private end = 0;
  /** Bytes before this index (absolute within the buffer) were handed on inside a bad frame already. */
  private covered = 0;
  /** Where noise not yet handed on begins, or -1. */
  private noiseFrom = -1;

  constructor(
    private readonly sink: FrameSink,
    private readonly framing: HeaderFraming,
  ) {
    if (framing.header.length === 0) throw new RangeError("A frame header needs at least one byte");
  }

  push(chunk: Uint8Array): void {
    this.append(chunk);
    this.scan();
  }

  reset(): void {
    this.start = this.end = this.covered = 0;
    this.noiseFrom = -1;
  }

  dispose(): void {
    this.reset();
  }

  private scan(): void {
    for (;;) {
      const at = this.findHeader();
      if (at < 0) {
        // Keep what could be the start of a header; the rest is noise, handed on in pieces of maxLength.
        const keep = this.end - this.headerPrefix();
        this.noise(this.start, keep);
        this.start = keep;
        const { maxLength } = this.framing;
        while (this.noiseFrom >= 0 && this.start - this.noiseFrom >= maxLength) {
          this.sink(this.buffer.slice(this.noiseFrom, this.noiseFrom + maxLength));
          this.noiseFrom += maxLength;
          this.covered = Math.max(this.covered, this.noiseFrom);
        }
        if (this.noiseFrom >= this.start) this.noiseFrom = -1;
        return;
      }
      this.noise(this.start, at);
      this.start = at;
      const length = this.frameLength();
      if (length === undefined) return; // the length field has not arrived
      if (length < 0) {
        // A corrupt length field: hand on what was read of it, and look again one byte on.
        this.flushNoise(at);
        this.bad(at, at + -length);
        continue;
      }
      if (this.end - at < length) return; // the rest has not arrived
      this.flushNoise(at);
      const frame = this.buffer.slice(at, at + length);
      if (this.framing.check !== undefined && !this.framing.check(frame)) {
        this.bad(at, at + length, frame);
        continue;
      }
      this.sink(frame);
      this.start = at + length;
      this.covered = Math.max(this.covered, this.start);
    }
  }

  /** Hands on a bad frame and resumes one byte after its header; one that began inside a bad frame handed on already is a false header, not handed on again. */
  private bad(from: number, to: number, frame?: Uint8Array): void {
    if (from >= this.covered) this.sink(frame ?? this.buffer.slice(from, to));
    this.covered = Math.max(this.covered, to);
    this.start = from + 1;
  }

  /** The frame's length at `start`, undefined before its length field is in, or minus the bytes read when the field is out of bounds. */
  private frameLength(): number | undefined {
    const { length, minLength, maxLength } = this.framing;
    if (typeof length === "number") return length;
    const fieldEnd = this.start + length.offset + length.size;
    if (this.end < fieldEnd) return undefined;
    const b = this.buffer;
    const p = this.start + length.offset;
    const value = length.size === 1 ? b[p]! : length.order === "big" ? (b[p]! << 8) | b[p + 1]! : b[p]! | (b[p + 1]! << 8);
    const total = value + length.adds;
    return total < minLength || total > maxLength ? -(fieldEnd - this.start) : total;
  }

  /** How many bytes at the end of the buffer (after the scan position) are the start of a header. */
  private headerPrefix(): number {
    const { header } = this.framing;
    const b = this.buffer;
    for (let n = Math.min(header.length - 1, this.end - this.start); n > 0; n--) {
      let prefix = true;
      for (let j = 0; j < n && prefix; j++) prefix = b[this.end - n + j] === header[j];
      if (prefix) return n;
    }
    return 0;
  }

  private findHeader(): number {
    const { header } = this.framing;
    const b = this.buffer;
    outer: for (let i = this.start; i + header.length <= this.end; i++) {
      for (let j = 0; j < header.length; j++) if (b[i + j] !== header[j]) continue outer;
      return i;
    }
    return -1;
  }

  /** Bytes in [from, to) that are in no frame: gathered until a header ends them. */
  private noise(from: number, to: number): void {
    const first = Math.max(from, this.covered);
    if (first >= to) return;
    if (this.noiseFrom < 0) this.noiseFrom = first;
  }

  private flushNoise(until: number): void {
    if (this.noiseFrom < 0) return;
    const to = Math.min(until, this.end);
    if (to > this.noiseFrom) this.sink(this.buffer.slice(this.noiseFrom, to));
    this.noiseFrom = -1;
    this.covered = Math.max(this.covered, to);
  }

  private append(chunk: Uint8Array): void {
    // Compact first: what is before the scan position (and any noise not yet handed on) is done with.
    const keepFrom = this.noiseFrom >= 0 ? Math.min(this.noiseFrom, this.start) : this.start;
    if (keepFrom > 0) {
      this.buffer.copyWithin(0, keepFrom, this.end);
      this.end -= keepFrom;
      this.start -= keepFrom;
      this.covered = Math.max(0, this.covered - keepFrom);
      if (this.noiseFrom >= 0) this.noiseFrom -= keepFrom;
    }
    if (this.end + chunk.length > this.buffer.length) {
      let size = this.buffer.length * 2;
      while (size < this.end + chunk.length) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.buffer.subarray(0, this.end));
      this.buffer = next;
    }
    this.buffer.set(chunk, this.end);
    this.end += chunk.length;
  }
}
