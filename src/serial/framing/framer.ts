import type { Clock } from "../../core/clock.ts";
import { BracketedFramer } from "./bracketed.ts";
import { DelimiterFramer } from "./delimiter.ts";
import { GapFramer } from "./gap.ts";
import { HeaderFramer, type HeaderFraming } from "./header.ts";
import { LengthFramer } from "./length.ts";
import { MarkerFramer } from "./marker.ts";
import { SlipFramer, slipEncode } from "./slip.ts";

/** How a byte stream is cut into frames. */
export type Framing =
  /** Lines or records ended by `delimiter` (removed from the frame). */
  | { kind: "delimiter"; delimiter: string | Uint8Array; maxLength?: number }
  /** RFC 1055 SLIP packets. */
  | { kind: "slip"; maxLength?: number }
  /**
   * Frames ended by a silence on the line (Modbus RTU's 3.5 characters): `gapMs`, or `gapChars`
   * character times at the link's baud rate (default 3.5, at least 2 ms since timers have ms resolution).
   * `complete`, when given, ends a frame as soon as the bytes so far make a whole one (a Modbus master
   * knows a reply's length from its header), without waiting for the silence.
   */
  | { kind: "gap"; gapMs?: number; gapChars?: number; maxLength?: number; complete?: (frame: Uint8Array) => boolean }
  /** Frames ending `trailing` bytes after `marker` (both kept in the frame): VE.Direct's `\r\nChecksum\t` and its checksum byte. */
  | { kind: "marker"; marker: string | Uint8Array; trailing: number; maxLength?: number }
  /** Fixed-size records. */
  | { kind: "length"; length: number }
  /** Binary frames found by their header, of a fixed length or one a length field gives (see header.ts). */
  | ({ kind: "header" } & HeaderFraming)
  /**
   * Frames from a `start` byte to an `end` byte, then at most `trailer` bytes and the `delimiter` (removed).
   * A start byte inside a frame opens the next one; bytes outside frames, abandoned and over-long frames are
   * handed on too, for the receiver to count.
   */
  | { kind: "bracketed"; start: string; end: string; trailer: number; delimiter: string; maxLength?: number }
  /** Whatever arrived, as it arrived (one frame per read). */
  | { kind: "raw" };

/** Cuts pushed bytes into frames and hands each to its sink. */
export interface Framer {
  /** Takes arrived bytes; `chunk` is only valid during the call. */
  push(chunk: Uint8Array): void;
  /** Drops a partial frame (after a reconnect). */
  reset(): void;
  /** Stops its timers. */
  dispose(): void;
  /** Frames skipped for being longer than the framing's maxLength (framings that skip them count them). */
  readonly dropped?: number;
}

/** Receives each frame; the frame is the receiver's to keep. */
export type FrameSink = (frame: Uint8Array) => void;

export interface FramerContext {
  clock: Clock;
  /** Milliseconds one character takes on the line (start, data, parity and stop bits at the baud rate). */
  characterMs: number;
}

const DEFAULT_MAX = 64 * 1024;

/** Makes the framer for a framing. */
export function createFramer(framing: Framing, sink: FrameSink, context: FramerContext): Framer {
  switch (framing.kind) {
    case "delimiter": {
      const d = typeof framing.delimiter === "string" ? new TextEncoder().encode(framing.delimiter) : framing.delimiter;
      return new DelimiterFramer(d, sink, framing.maxLength ?? DEFAULT_MAX);
    }
    case "slip":
      return new SlipFramer(sink, framing.maxLength ?? DEFAULT_MAX);
    case "gap": {
      const gapMs = framing.gapMs ?? Math.max(2, Math.ceil((framing.gapChars ?? 3.5) * context.characterMs));
      return new GapFramer(sink, gapMs, context.clock, framing.maxLength ?? DEFAULT_MAX, framing.complete);
    }
    case "marker": {
      const m = typeof framing.marker === "string" ? new TextEncoder().encode(framing.marker) : framing.marker;
      return new MarkerFramer(m, framing.trailing, sink, framing.maxLength ?? DEFAULT_MAX);
    }
    case "length":
      return new LengthFramer(sink, framing.length);
    case "header":
      return new HeaderFramer(sink, framing);
    case "bracketed": {
      const code = (c: string) => new TextEncoder().encode(c)[0]!;
      return new BracketedFramer(code(framing.start), code(framing.end), framing.trailer, new TextEncoder().encode(framing.delimiter), sink, framing.maxLength ?? DEFAULT_MAX);
    }
    case "raw":
      return { push: (chunk) => sink(chunk.slice()), reset() {}, dispose() {} };
  }
}

/** The bytes to write for one outgoing frame: the delimiter appended, SLIP-encoded, or as given. */
export function encodeFrame(framing: Framing, frame: Uint8Array): Uint8Array {
  switch (framing.kind) {
    case "delimiter": {
      const d = typeof framing.delimiter === "string" ? new TextEncoder().encode(framing.delimiter) : framing.delimiter;
      const out = new Uint8Array(frame.length + d.length);
      out.set(frame);
      out.set(d, frame.length);
      return out;
    }
    case "slip":
      return slipEncode(frame);
    default:
      return frame;
  }
}
