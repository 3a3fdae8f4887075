/**
 * A binary model's frames as data says them: how the framer finds them (`framingOf`), why one is bad
 * (its length, tail or checksum), whether it is a report, a field's value in it, and the request frames
 * sent to the device with their checksum and tail added.
 */
import { type BinaryField, type BinaryProtocol, FIELD_TYPES, type FrameMatch, trailerSize } from "../../config/binary-definition.ts";
import type { HeaderFraming, LengthField } from "../../serial/framing/header.ts";
import { type FrameChecksum, frameChecksum, hexOf } from "./checksum.ts";

/** One binary model's frames. */
export class BinaryFrames {
  private readonly binary: BinaryProtocol;
  private readonly checksum: FrameChecksum | undefined;
  private readonly header: Uint8Array;
  private readonly trailer: number;
  private readonly lengthField: LengthField | undefined;
  private readonly minLength: number;
  private readonly maxLength: number;

  constructor(binary: BinaryProtocol) {
    this.binary = binary;
    this.checksum = binary.checksum === undefined ? undefined : frameChecksum(binary.checksum);
    this.header = Uint8Array.from(binary.header);
    this.trailer = trailerSize(binary);
    this.lengthField = typeof binary.length === "number" ? undefined : lengthField(binary);
    const fixed = typeof binary.length === "number" ? binary.length : undefined;
    this.minLength = fixed ?? Math.max(this.header.length + this.trailer, this.lengthField!.offset + this.lengthField!.size);
    this.maxLength = fixed ?? binary.max_length;
  }

  /** What the link's framer needs: the header, the length, the bounds, and the check that sends the scan on after a bad frame. */
  framing(): HeaderFraming {
    return {
      header: this.header,
      length: this.lengthField ?? (this.binary.length as number),
      minLength: this.minLength,
      maxLength: this.maxLength,
      check: (frame) => this.fault(frame) === undefined,
    };
  }

  /** Why a frame cut by the framer is no frame (noise, a corrupt length, a wrong tail, a bad checksum), or undefined when it is sound. */
  fault(frame: Uint8Array): string | undefined {
    const { header } = this;
    if (frame.length < header.length || !header.every((b, i) => frame[i] === b))
      return `${frame.length} byte${frame.length === 1 ? "" : "s"} outside any frame (no header ${[...header].map((b) => hexOf(b, 1)).join(" ")})`;
    const expected = this.expectedLength(frame);
    if (expected === undefined || frame.length !== expected) {
      const said = this.lengthField === undefined ? undefined : fieldValue(frame, this.lengthField.offset, this.lengthField.size === 1 ? "uint8" : "uint16", this.lengthField.order);
      return `length field says ${said ?? "?"}: a frame of ${said === undefined ? "?" : said + this.lengthField!.adds} bytes, outside ${this.minLength}…${this.maxLength}`;
    }
    const { tail } = this.binary;
    if (tail !== undefined && frame[frame.length - 1] !== tail) return `bad tail: expected ${hexOf(tail, 1)}, got ${hexOf(frame[frame.length - 1]!, 1)}`;
    if (this.checksum !== undefined) {
      const at = frame.length - this.trailer;
      const computed = this.checksum.compute(frame, at);
      const written = this.checksum.read(frame, at);
      if (computed !== written) return `bad checksum: expected ${hexOf(written, this.checksum.size)}, computed ${hexOf(computed, this.checksum.size)}`;
    }
    return undefined;
  }

  /** Whether a sound frame carries the readings (the model's `report` match; every frame without one). */
  isReport(frame: Uint8Array): boolean {
    return this.binary.report === undefined || matches(frame, this.binary.report);
  }

  /** A request frame: the model's bytes with the checksum and tail added. */
  request(bytes: readonly number[]): Uint8Array {
    const frame = new Uint8Array(bytes.length + this.trailer);
    frame.set(bytes);
    if (this.checksum !== undefined) this.checksum.write(frame, bytes.length, this.checksum.compute(frame, bytes.length));
    if (this.binary.tail !== undefined) frame[frame.length - 1] = this.binary.tail;
    return frame;
  }

  /** Where a frame's data ends (its checksum and tail begin). */
  dataEnd(frame: Uint8Array): number {
    return frame.length - this.trailer;
  }

  private expectedLength(frame: Uint8Array): number | undefined {
    if (this.lengthField === undefined) return this.binary.length as number;
    const f = this.lengthField;
    if (frame.length < f.offset + f.size) return undefined;
    const total = fieldValue(frame, f.offset, f.size === 1 ? "uint8" : "uint16", f.order) + f.adds;
    return total < this.minLength || total > this.maxLength ? undefined : total;
  }
}

/** The length field of a model, as the framer reads it: what to add to its value to make the frame's length. */
function lengthField(binary: BinaryProtocol): LengthField {
  const spec = binary.length as Exclude<BinaryProtocol["length"], number>;
  const after = spec.offset + spec.size;
  const adds = spec.counts === "frame" ? 0 : spec.counts === "rest" ? after : after + trailerSize(binary);
  return { offset: spec.offset, size: spec.size, order: spec.order, adds };
}

function matches(frame: Uint8Array, match: FrameMatch): boolean {
  return match.bytes.every((b, i) => frame[match.at + i] === b);
}

/** A field's raw value in a frame, or undefined when the frame ends before it. */
export function fieldValue(frame: Uint8Array, at: number, type: BinaryField["type"], order: BinaryField["order"]): number;
export function fieldValue(frame: Uint8Array, at: number, type: BinaryField["type"], order: BinaryField["order"], end: number): number | undefined;
export function fieldValue(frame: Uint8Array, at: number, type: BinaryField["type"], order: BinaryField["order"], end = frame.length): number | undefined {
  const size = FIELD_TYPES[type];
  if (at + size > end) return undefined;
  let raw = 0;
  for (let i = 0; i < size; i++) raw = raw * 256 + frame[order === "big" ? at + i : at + size - 1 - i]!;
  const signed = type.startsWith("int");
  const top = 2 ** (size * 8);
  return signed && raw >= top / 2 ? raw - top : raw;
}
