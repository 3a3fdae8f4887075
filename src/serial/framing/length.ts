import type { Framer, FrameSink } from "./framer.ts";
import { ByteBuffer } from "./grow.ts";

/** Fixed-size records. */
export class LengthFramer implements Framer {
  private readonly partial = new ByteBuffer();

  constructor(
    private readonly sink: FrameSink,
    private readonly length: number,
  ) {
    if (!Number.isInteger(length) || length <= 0) throw new RangeError(`A frame length must be a positive integer, got ${length}`);
  }

  push(chunk: Uint8Array): void {
    let pos = 0;
    if (this.partial.length > 0) {
      const need = this.length - this.partial.length;
      this.partial.append(chunk.subarray(0, need));
      if (this.partial.length < this.length) return;
      this.sink(this.partial.take());
      pos = need;
    }
    for (; pos + this.length <= chunk.length; pos += this.length) this.sink(chunk.slice(pos, pos + this.length));
    if (pos < chunk.length) this.partial.append(chunk.subarray(pos));
  }

  reset(): void {
    this.partial.length = 0;
  }

  dispose(): void {
    this.reset();
  }
}
