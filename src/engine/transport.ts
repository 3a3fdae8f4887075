import type { Framing } from "../serial/framing/framer.ts";
import type { LinkState } from "../serial/link-state.ts";
import type { SerialSettings } from "../serial/settings.ts";

export type { Framing, LinkState };

/** What the device engine needs of a serial transport: frames in, frames out, and its state. */
export interface Transport {
  readonly path: string;
  readonly state: LinkState;
  /** Frames skipped for being longer than the framing allows (a transport without a framing has none). */
  readonly droppedFrames?: number;
  open(): Promise<void>;
  close(): Promise<void>;
  write(data: Uint8Array | string): Promise<void>;
  /** Calls `listener` with each frame (delimiter removed); returns the function that removes it. */
  onFrame(listener: (frame: Uint8Array) => void): () => void;
  /** Calls `listener` on each state change; returns the function that removes it. */
  onState(listener: (state: LinkState, error?: Error) => void): () => void;
}

/** Opens transports; the engine gets one for each port (several devices on one bus share it). */
export type TransportFactory = (options: { path: string; serial: SerialSettings; framing: Framing }) => Transport;
