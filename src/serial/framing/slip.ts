import type { Framer, FrameSink } from "./framer.ts";
import { ByteBuffer } from "./grow.ts";

/** RFC 1055 bytes. */
export const SLIP = Object.freeze({ END: 0xc0, ESC: 0xdb, ESC_END: 0xdc, ESC_ESC: 0xdd });

/** Decodes SLIP packets; empty packets (back-to-back ENDs, used to flush line noise) are skipped. */
export class SlipFramer implements Framer {
  /** Packets skipped for being longer than maxLength. */
  dropped = 0;
  private readonly frame = new ByteBuffer();
  private escaped = false;
  private overflow = false;

  constructor(
    private readonly sink: FrameSink,
    private readonly maxLength: number,
  ) {}

  push(chunk: Uint8Array): void {
    const f = this.frame;
    for (let i = 0; i < chunk.length; i++) {
      let b = chunk[i]!;
      if (b === SLIP.END) {
        if (this.overflow) this.dropped++;
        else if (f.length > 0) this.sink(f.take());
        this.reset();
        continue;
      }
      if (this.escaped) {
        this.escaped = false;
        if (b === SLIP.ESC_END) b = SLIP.END;
        else if (b === SLIP.ESC_ESC) b = SLIP.ESC;
        // a protocol violation: RFC 1055 keeps the byte as it is
      } else if (b === SLIP.ESC) {
        this.escaped = true;
        continue;
      }
      if (f.length >= this.maxLength) this.overflow = true;
      else f.push(b);
    }
  }

  reset(): void {
    this.frame.length = 0;
    this.escaped = false;
    this.overflow = false;
  }

  dispose(): void {
    this.reset();
  }
}

/** Encodes one SLIP packet, with an END before it (flushing noise on the line) and after it. */
export function slipEncode(packet: Uint8Array): Uint8Array {
  const out = new Uint8Array(packet.length * 2 + 2);
  let n = 0;
  out[n++] = SLIP.END;
  for (const b of packet) {
    if (b === SLIP.END) {
      out[n++] = SLIP.ESC;
      out[n++] = SLIP.ESC_END;
    } else if (b === SLIP.ESC) {
      out[n++] = SLIP.ESC;
      out[n++] = SLIP.ESC_ESC;
    } else out[n++] = b;
  }
  out[n++] = SLIP.END;
  return out.slice(0, n);
}
