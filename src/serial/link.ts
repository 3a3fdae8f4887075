import type { OpenOptions } from "@serialport/bindings-interface";
import { type BackoffOptions, backoffDelay } from "../core/backoff.ts";
import type { TimerHandle } from "../core/clock.ts";
import type { Hub } from "../core/hub.ts";
import { callback } from "../core/job.ts";
import type { Logger } from "../core/logger.ts";
import { BunBinding } from "./binding.ts";
import { isSerialError, SerialError } from "./errors.ts";
import "./events.ts";
import { createFramer, encodeFrame, type Framer, type Framing } from "./framing/framer.ts";
import type { LinkState } from "./link-state.ts";
import type { BunPort } from "./port.ts";
import { DEFAULT_SERIAL_SETTINGS, type SerialSettings } from "./settings.ts";

export interface SerialLinkOptions {
  path: string;
  /** The line's settings; what is left out comes from DEFAULT_SERIAL_SETTINGS. */
  serial?: Partial<SerialSettings>;
  framing: Framing;
  /** How the link retries after the device went away (default RECONNECT_BACKOFF). */
  reconnect?: Partial<BackoffOptions>;
}

/** Reopening a port that went away: from 250 ms, doubling, up to 10 s. */
export const RECONNECT_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 10_000 };

/** What opens ports for a link (the BunBinding; tests may pass another). */
export interface PortOpener {
  open(options: OpenOptions): Promise<BunPort>;
}

export interface SerialLinkDeps {
  hub: Hub;
  log?: Logger;
  binding?: PortOpener;
  /** [0, 1), for the backoff's jitter. */
  random?: () => number;
}

/** Errors no retry can mend: the link stays closed and open() throws them. */
const PERMANENT = new Set(["SERIAL_UNSUPPORTED_BAUD", "SERIAL_INVALID_OPTIONS", "SERIAL_NOT_A_TTY", "SERIAL_UNSUPPORTED_PLATFORM"]);

/**
 * A framed link to one serial port for the layers above: frames in (onFrame listeners and
 * `serial_frame` events), bytes or frames out, and a state whose every change is a `serial_link_state`
 * event. `open()` throws if the port cannot be opened; once open, a device that goes away (USB unplug:
 * EIO, ENXIO, hang-up) makes the link `unavailable`, and it reopens the same path with capped
 * exponential backoff and jitter until the device is back or the link is closed.
 */
export class SerialLink {
  private linkState: LinkState = "closed";
  private port: BunPort | undefined;
  private framer: Framer | undefined;
  /** Over-long frames the framers before the current one skipped. */
  private droppedBefore = 0;
  private wanted = false;
  private attempt = 0;
  private retryTimer: TimerHandle | undefined;
  private opening: Promise<void> | undefined;
  private reopening: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private unlistenClose: (() => void) | undefined;
  private readonly frameListeners = new Set<(frame: Uint8Array) => void>();
  private readonly stateListeners = new Set<(state: LinkState, error?: Error) => void>();

  constructor(
    private readonly deps: SerialLinkDeps,
    private readonly options: SerialLinkOptions,
  ) {}

  get path(): string {
    return this.options.path;
  }

  get state(): LinkState {
    return this.linkState;
  }

  /** Frames skipped for being longer than the framing allows, since the link was made. */
  get droppedFrames(): number {
    return this.droppedBefore + (this.framer?.dropped ?? 0);
  }

  private get log(): Logger {
    return this.deps.log ?? this.deps.hub.log;
  }

  /** Same as open(), for owners that start and stop their components. */
  start(): Promise<void> {
    return this.open();
  }

  /** Same as close(). */
  stop(): Promise<void> {
    return this.close();
  }

  /** Opens the port; resolves once it is open. While `unavailable`, tries at once instead of waiting for the next retry. */
  open(): Promise<void> {
    if (this.linkState === "open") return Promise.resolve();
    this.opening ??= this.runOpen().finally(() => (this.opening = undefined));
    return this.opening;
  }

  /** Closes the port and stops retrying. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= this.runClose().finally(() => (this.closing = undefined));
    return this.closing;
  }

  /** Writes bytes as they are. */
  write(data: Uint8Array | string): Promise<void> {
    const port = this.port;
    if (port === undefined || this.linkState !== "open") {
      return Promise.reject(new SerialError("SERIAL_NOT_OPEN", `Cannot write to ${this.path}: the link is ${this.linkState}`, { path: this.path }));
    }
    return port.write(typeof data === "string" ? Buffer.from(data) : (data as Buffer));
  }

  /** Writes one frame, encoded for the link's framing (the delimiter appended, SLIP-escaped). */
  writeFrame(frame: Uint8Array | string): Promise<void> {
    return this.write(encodeFrame(this.options.framing, typeof frame === "string" ? Buffer.from(frame) : frame));
  }

  /** Calls `listener` with each frame; returns the function that removes it. */
  onFrame(listener: (frame: Uint8Array) => void): () => void {
    this.frameListeners.add(listener);
    return () => this.frameListeners.delete(listener);
  }

  /** Calls `listener` on each state change; returns the function that removes it. */
  onState(listener: (state: LinkState, error?: Error) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  private async runOpen(): Promise<void> {
    this.wanted = true;
    // Shutdown closes links still open (the owner normally closes them first).
    this.unlistenClose ??= this.deps.hub.bus.listen(
      "hub_close",
      callback(() => void this.deps.hub.createTask(this.close(), { name: `close serial link ${this.path}` })),
      { name: `serial link ${this.path}` },
    );
    if (this.linkState === "unavailable") {
      this.clearRetry();
      return this.reopen(true);
    }
    this.transition("opening");
    try {
      this.attach(await this.openPort());
    } catch (err) {
      this.wanted = false;
      this.transition("closed", err as Error);
      throw err;
    }
  }

  /** One try at reopening a link that went away; when it fails, the next try is scheduled. */
  private reopen(rethrow: boolean): Promise<void> {
    this.reopening ??= (async () => {
      try {
        this.attach(await this.openPort());
        this.log.info({ path: this.path }, `Serial link ${this.path} is back`);
      } catch (err) {
        if (isSerialError(err) && PERMANENT.has(err.code)) this.log.error({ err, path: this.path }, `Serial link ${this.path} cannot reopen`);
        this.scheduleRetry(err);
        throw err;
      } finally {
        this.reopening = undefined;
      }
    })();
    return rethrow ? this.reopening : this.reopening.catch(() => {});
  }

  private async runClose(): Promise<void> {
    this.wanted = false;
    this.clearRetry();
    this.unlistenClose?.();
    this.unlistenClose = undefined;
    await this.opening?.catch(() => {});
    await this.reopening?.catch(() => {});
    const port = this.port;
    this.port = undefined;
    this.retireFramer();
    try {
      await port?.close();
    } finally {
      if (this.linkState !== "closed") this.transition("closed");
    }
  }

  private openPort(): Promise<BunPort> {
    const s: SerialSettings = { ...DEFAULT_SERIAL_SETTINGS, ...this.options.serial };
    const binding = this.deps.binding ?? new BunBinding();
    return binding.open({ path: this.path, baudRate: s.baud, dataBits: s.data_bits, parity: s.parity, stopBits: s.stop_bits, rtscts: s.rts_cts });
  }

  private attach(port: BunPort): void {
    if (!this.wanted) {
      void port.close(); // closed while opening
      return;
    }
    this.port = port;
    this.attempt = 0;
    this.retireFramer();
    const characterMs = (port.bitsPerCharacter() * 1000) / port.currentBaudRate;
    const framer = createFramer(this.options.framing, (frame) => this.deliver(frame), { clock: this.deps.hub.clock, characterMs });
    this.framer = framer;
    port.listen({ data: (chunk) => framer.push(chunk), error: (err) => this.lost(port, err) });
    this.transition("open");
  }

  private retireFramer(): void {
    this.droppedBefore += this.framer?.dropped ?? 0;
    this.framer?.dispose();
    this.framer = undefined;
  }

  private deliver(frame: Uint8Array): void {
    for (const listener of this.frameListeners) {
      try {
        listener(frame);
      } catch (err) {
        this.log.error({ err, path: this.path }, `Error in a frame listener of serial link ${this.path}`);
      }
    }
    this.deps.hub.bus.fire("serial_frame", { path: this.path, frame });
  }

  /** The device went away: let go of the port, go unavailable, and start retrying. */
  private lost(port: BunPort, err: SerialError): void {
    if (this.port !== port) return;
    this.port = undefined;
    this.framer?.reset();
    void port.close().catch((closeErr) => this.log.debug({ err: closeErr }, `Closing ${this.path} after it went away failed`));
    this.log.warn({ path: this.path, code: err.code }, `Serial link ${this.path} unavailable: ${err.message}`);
    this.transition("unavailable", err);
    this.scheduleRetry(err);
  }

  private scheduleRetry(err: unknown): void {
    if (!this.wanted || this.retryTimer !== undefined) return;
    const delayMs = backoffDelay(this.attempt, { ...RECONNECT_BACKOFF, ...this.options.reconnect }, this.deps.random);
    const attempt = ++this.attempt;
    const reason = err instanceof Error ? err.message : String(err);
    this.deps.hub.bus.fire("serial_link_retry", { path: this.path, attempt, delayMs, reason, code: isSerialError(err) ? err.code : undefined });
    this.retryTimer = this.deps.hub.clock.setTimeout(() => {
      this.retryTimer = undefined;
      if (this.wanted && this.linkState === "unavailable") void this.reopen(false);
    }, delayMs);
  }

  private clearRetry(): void {
    if (this.retryTimer === undefined) return;
    this.deps.hub.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private transition(state: LinkState, error?: Error): void {
    const previous = this.linkState;
    if (previous === state) return;
    this.linkState = state;
    const code = isSerialError(error) ? error.code : undefined;
    this.deps.hub.bus.fire("serial_link_state", { path: this.path, state, previous, reason: error?.message, code });
    for (const listener of this.stateListeners) {
      try {
        listener(state, error);
      } catch (err) {
        this.log.error({ err, path: this.path }, `Error in a state listener of serial link ${this.path}`);
      }
    }
  }
}
