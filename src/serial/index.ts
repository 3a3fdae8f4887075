/** Serial ports under Bun: a @serialport binding on termios and reader Workers, pseudo-terminals, framed links that reconnect. */
import "./events.ts";

export { type BackoffOptions, backoffDelay } from "./backoff.ts";
export { BunBinding, type BunBindingOptions, normalizeOpenOptions } from "./binding.ts";
export { type ChannelListener, FdChannel } from "./channel.ts";
export { isSerialError, SerialError, type SerialErrorCode } from "./errors.ts";
export { createFramer, encodeFrame, type Framer, type FrameSink, type Framing } from "./framing/framer.ts";
export { slipEncode } from "./framing/slip.ts";
export { type LinkSerialSettings, type PortOpener, SerialLink, type SerialLinkDeps, type SerialLinkOptions } from "./link.ts";
export type { LinkState } from "./link-state.ts";
export { type ListRoots, listPorts, type SerialPortInfo } from "./list.ts";
export { BunPort, type PortOptions } from "./port.ts";
export { openPty, type OpenPtyOptions, Pty } from "./pty.ts";
export { ReaderPool, type ReaderPoolOptions, type ReaderStats, sharedReaderPool } from "./reader-pool.ts";
