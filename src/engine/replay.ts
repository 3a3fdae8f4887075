/**
 * Plays a capture (raw bytes as recorded from a device) to the host, paced as the device sent them, so a
 * model can be developed without the device: `hearth sim --replay`, and `port: sim` for a model file
 * that names a capture (its `simulator.replay`).
 */
import { dirname, resolve } from "node:path";
import type { DeviceDefinition } from "../config/device-definition.ts";
import { HearthError } from "../core/errors.ts";
import { bitsPerCharacter } from "../serial/settings.ts";
import type { DeviceErrorCode } from "./device-error.ts";
import type { Simulator, SimulatorFactory, SimulatorPort } from "./simulator.ts";

/**
 * How fast a capture plays: its bytes as a line of `baud` carries them (`bitsPerByte` start, data, parity
 * and stop bits, 10 for 8N1), or whole lines (up to each `\n`) a second.
 */
export type ReplayRate = { baud: number; bitsPerByte?: number } | { linesPerSecond: number };

/** How a capture is played. */
export interface ReplayOptions {
  /** Default: as a 9600-baud 8N1 line carries bytes. */
  rate?: ReplayRate;
  /** Play it again from the start after the end. */
  loop?: boolean;
}

/** The pace of a capture played without a rate: the serial default, 9600 baud 8N1. */
export const DEFAULT_REPLAY_RATE: ReplayRate = { baud: 9600, bitsPerByte: 10 };

/** Bytes played that no one has read yet, at most: past it the player waits, so it plays only while someone reads the port. */
export const UNREAD_LIMIT = 1024;

/** The longest piece written at once: a line (to its `\n`), or this much of a capture without line ends. */
const MAX_PIECE = { baud: 256, lines: 4096 };

/** How far behind its schedule (a late timer, a wait for a reader) the player may catch up in one burst. */
const MAX_BEHIND_MS = 50;

/** How often a player that waits for a reader looks again. */
const READER_CHECK_MS = 25;

/**
 * A capture's bytes as they are played: all of the file, except the lines at its top that start with `#`
 * (a recorder's notes, as in gpsd's captures), which no device sent. Rejects with DEVICE_CAPTURE_UNREADABLE.
 */
export async function readCapture(file: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await Bun.file(file).bytes();
  } catch (err) {
    throw new HearthError<DeviceErrorCode>("DEVICE_CAPTURE_UNREADABLE", `cannot read the capture ${file}: ${(err as Error).message}`, { cause: err });
  }
  let start = 0;
  while (bytes[start] === 0x23 /* # */) {
    const end = bytes.indexOf(0x0a, start);
    start = end < 0 ? bytes.length : end + 1;
  }
  return bytes.subarray(start);
}

/** A capture cut where a UART pause would fall (after each `\n`), no piece longer than `max`. */
function piecesOf(bytes: Uint8Array, max: number): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let start = 0;
  while (start < bytes.length) {
    const newline = bytes.indexOf(0x0a, start);
    const end = Math.min(newline < 0 ? bytes.length : newline + 1, start + max);
    pieces.push(bytes.subarray(start, end));
    start = end;
  }
  return pieces;
}

/**
 * Plays a capture to the host on a schedule: each piece when the pieces before it would have taken their
 * time on the line (or at the line rate), so pacing holds on average whatever the timers' grain. A piece is
 * written whole, so the capture's lines are never cut apart by the player; they still reach the host in
 * whatever pieces the reader takes them. It plays only while the host keeps up (see UNREAD_LIMIT).
 */
export class ReplaySimulator implements Simulator {
  /** Bytes played so far, over every round. */
  sent = 0;
  /** Times the capture was played to its end. */
  rounds = 0;
  /** Resolves once the capture has been played to its end (never, with `loop`); rejects with DEVICE_CAPTURE_UNREADABLE. */
  readonly finished: Promise<void>;

  private readonly port: SimulatorPort;
  private readonly file: string;
  private readonly options: ReplayOptions;
  private readonly finish: () => void;
  private readonly fail: (err: unknown) => void;
  /** Which start() the playing belongs to: a stop() ends it, and a later start() never runs two at once. */
  private generation = 0;
  private running = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private wake: (() => void) | undefined;

  constructor(port: SimulatorPort, options: ReplayOptions & { file: string }) {
    this.port = port;
    this.file = options.file;
    this.options = options;
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    promise.catch(() => {}); // told to whoever awaits it; nobody has to
    this.finished = promise;
    this.finish = resolve;
    this.fail = reject;
  }

  /** Reads the capture (without blocking the loop) and plays it. A second call does nothing. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const generation = ++this.generation;
    void this.run(generation).catch((err) => {
      this.stop();
      this.fail(err);
    });
  }

  /** Stops playing. Safe to call twice. */
  stop(): void {
    this.running = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.wake?.();
  }

  /** A capture cannot answer: what the host sends is dropped. */
  receive(_bytes: Uint8Array): void {}

  private live(generation: number): boolean {
    return this.running && this.generation === generation;
  }

  private async run(generation: number): Promise<void> {
    const bytes = await readCapture(this.file);
    const rate = this.options.rate ?? DEFAULT_REPLAY_RATE;
    await this.play(generation, piecesOf(bytes, "baud" in rate ? MAX_PIECE.baud : MAX_PIECE.lines), rate);
  }

  private async play(generation: number, pieces: Uint8Array[], rate: ReplayRate): Promise<void> {
    const msPerByte = "baud" in rate ? ((rate.bitsPerByte ?? 10) * 1000) / rate.baud : 0;
    const msPerLine = "linesPerSecond" in rate ? 1000 / rate.linesPerSecond : 0;
    let nextAt = performance.now();
    do {
      for (const piece of pieces) {
        if (!(await this.turn(generation, nextAt))) return;
        await this.port.write(piece);
        if (!this.live(generation)) return;
        this.sent += piece.length;
        nextAt = Math.max(nextAt, performance.now() - MAX_BEHIND_MS) + piece.length * msPerByte + msPerLine;
      }
      this.rounds++;
    } while (this.options.loop === true && pieces.length > 0);
    this.running = false;
    this.finish();
  }

  /** Waits until `at` and until the host has read what was played; false once stopped. */
  private async turn(generation: number, at: number): Promise<boolean> {
    for (;;) {
      if (!this.live(generation)) return false;
      const behindReader = (this.port.unread?.() ?? 0) > UNREAD_LIMIT;
      const wait = behindReader ? READER_CHECK_MS : at - performance.now();
      if (wait <= 0) return true;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, wait);
      });
      this.wake = undefined;
      this.timer = undefined;
    }
  }
}

/** The simulator of a capture file, for a catalogue model's `simulator` (`port: sim`) and `hearth sim --replay`. */
export function replaySimulatorFactory(file: string, options: ReplayOptions = {}): SimulatorFactory {
  return (port) => new ReplaySimulator(port, { ...options, file });
}

/**
 * The simulator a model file names (`simulator: { replay, rate, loop }`), its capture found relative to
 * `modelFile` and paced at the model's baud rate unless `rate` gives lines a second; undefined when it names none.
 */
export function replaySimulatorOf(definition: DeviceDefinition, modelFile: string): SimulatorFactory | undefined {
  const spec = definition.simulator;
  const file = replayCaptureOf(definition, modelFile);
  if (spec === undefined || file === undefined) return undefined;
  const rate: ReplayRate = spec.rate !== undefined ? { linesPerSecond: spec.rate } : { baud: definition.serial.baud, bitsPerByte: bitsPerCharacter(definition.serial) };
  return replaySimulatorFactory(file, { rate, loop: spec.loop });
}

/** The capture file a model file names for `port: sim` (its `simulator.replay`, relative to `modelFile`), or undefined; for checking that it can be read. */
export function replayCaptureOf(definition: DeviceDefinition, modelFile: string): string | undefined {
  const spec = definition.simulator;
  return spec === undefined ? undefined : resolve(dirname(modelFile), spec.replay);
}
