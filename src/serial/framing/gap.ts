import type { Clock, TimerHandle } from "../../core/clock.ts";
import type { Framer, FrameSink } from "./framer.ts";
import { ByteBuffer } from "./grow.ts";

/**
 * Frames ended by silence (Modbus RTU: 3.5 character times). The silence is measured on the loop from
 * each chunk's arrival, so it is as precise as the timers (about a millisecond); enough for a
 * request–reply bus where the master waits for each reply.
 */
export class GapFramer implements Framer {
  private readonly frame = new ByteBuffer();
  private timer: TimerHandle | undefined;

  constructor(
    private readonly sink: FrameSink,
    readonly gapMs: number,
    private readonly clock: Clock,
    private readonly maxLength: number,
  ) {}

  push(chunk: Uint8Array): void {
    if (this.frame.length + chunk.length > this.maxLength) this.emit();
    this.frame.append(chunk.length > this.maxLength ? chunk.subarray(0, this.maxLength) : chunk);
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
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
