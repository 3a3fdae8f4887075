import type { Clock, TimerHandle } from "../../core/clock.ts";
import type { Framer, FrameSink } from "./framer.ts";
import { ByteBuffer } from "./grow.ts";

/**
 * Frames ended by silence (Modbus RTU: 3.5 character times). The silence is measured on the loop from
 * each chunk's arrival, so it is as precise as the timers (about a millisecond); enough for a
 * request–reply bus where the master waits for each reply. With `complete`, a frame that is whole by
 * its own rules ends at once, and the silence only ends the frames it cannot judge.
 */
export class GapFramer implements Framer {
  private readonly frame = new ByteBuffer();
  private timer: TimerHandle | undefined;

  constructor(
    private readonly sink: FrameSink,
    readonly gapMs: number,
    private readonly clock: Clock,
    private readonly maxLength: number,
    private readonly complete?: (frame: Uint8Array) => boolean,
  ) {}

  push(chunk: Uint8Array): void {
    if (this.frame.length + chunk.length > this.maxLength) this.emit();
    this.frame.append(chunk.length > this.maxLength ? chunk.subarray(0, this.maxLength) : chunk);
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    if (this.complete?.(this.frame.bytes.subarray(0, this.frame.length))) {
      this.timer = undefined;
      return this.emit();
    }
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.emit();
    }, this.gapMs);
  }

  reset(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.frame.length = 0;
  }

  dispose(): void {
    this.reset();
  }

  private emit(): void {
    if (this.frame.length > 0) this.sink(this.frame.take());
  }
}
