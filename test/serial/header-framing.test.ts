import { describe, expect, test } from "bun:test";
import { ManualClock } from "../../src/core/clock.ts";
import { createFramer, type Framing } from "../../src/serial/framing/framer.ts";

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");
const bytes = (s: string) =>
  Uint8Array.from(
    s
      .split(/\s+/)
      .filter(Boolean)
      .map((h) => Number.parseInt(h, 16)),
  );

function framesOf(framing: Framing, chunks: Uint8Array[]): string[] {
  const frames: string[] = [];
  const framer = createFramer(framing, (f) => frames.push(hex(f)), { clock: new ManualClock(), characterMs: 1 });
  for (const c of chunks) framer.push(c);
  return frames;
}

/** The stream whole, one byte at a time, and cut in two at every place. */
function splits(stream: Uint8Array): Uint8Array[][] {
  const out = [[stream], [...stream].map((b) => Uint8Array.of(b))];
  for (let i = 1; i < stream.length; i++) out.push([stream.subarray(0, i), stream.subarray(i)]);
  return out;
}

// Frames of three bytes' header AA 55, a one-byte payload, and a tail; "sound" when the tail is 0x0D.
const fixed: Framing = { kind: "header", header: bytes("AA 55"), length: 4, minLength: 4, maxLength: 4, check: (f) => f[3] === 0x0d };
// PMS5003-shaped: 42 4D, a big-endian length of the bytes after it, then those bytes.
const sized: Framing = { kind: "header", header: bytes("42 4D"), length: { offset: 2, size: 2, order: "big", adds: 4 }, minLength: 5, maxLength: 16 };

describe("header framing", () => {
  test("fixed-length frames split anywhere, even inside the header, come out whole", () => {
    for (const chunks of splits(bytes("AA 55 01 0D AA 55 02 0D"))) expect(framesOf(fixed, chunks)).toEqual(["aa 55 01 0d", "aa 55 02 0d"]);
  });

  test("a length field's frames split anywhere come out at the length it gives", () => {
    for (const chunks of splits(bytes("42 4D 00 02 07 08 42 4D 00 01 09"))) expect(framesOf(sized, chunks)).toEqual(["42 4d 00 02 07 08", "42 4d 00 01 09"]);
  });

  test("bytes before a header are handed on as one piece of noise, then the frame", () => {
    for (const chunks of splits(bytes("13 37 AA 99 AA 55 01 0D"))) expect(framesOf(fixed, chunks)).toEqual(["13 37 aa 99", "aa 55 01 0d"]);
  });

  test("a header's value inside a frame's payload is not taken for a header", () => {
    for (const chunks of splits(bytes("AA 55 AA 0D AA 55 55 0D"))) expect(framesOf(fixed, chunks)).toEqual(["aa 55 aa 0d", "aa 55 55 0d"]);
  });

  test("a frame that fails its check is handed on, and a good frame that began inside it is not lost", () => {
    // The first "frame" is a truncated one (its tail is missing); the next header starts two bytes in.
    for (const chunks of splits(bytes("AA 55 AA 55 07 0D"))) expect(framesOf(fixed, chunks)).toEqual(["aa 55 aa 55", "aa 55 07 0d"]);
  });

  test("a length field beyond the bounds is handed on as far as it was read, and the scan goes on after its header", () => {
    for (const chunks of splits(bytes("42 4D FF FF 42 4D 00 01 09"))) expect(framesOf(sized, chunks)).toEqual(["42 4d ff ff", "42 4d 00 01 09"]);
  });

  test("a stream with no header at all is handed on in pieces of at most maxLength bytes, never kept", () => {
    const noise = new Uint8Array(40).fill(0x11);
    for (const chunks of [[noise], [noise.subarray(0, 13), noise.subarray(13)]]) {
      const frames = framesOf(fixed, chunks);
      expect(frames.length).toBe(10);
      expect(frames.every((f) => f === "11 11 11 11")).toBe(true);
    }
  });

  test("reset drops a partial frame", () => {
    const frames: string[] = [];
    const framer = createFramer(fixed, (f) => frames.push(hex(f)), { clock: new ManualClock(), characterMs: 1 });
    framer.push(bytes("AA 55 01"));
    framer.reset();
    framer.push(bytes("0D AA 55 02 0D"));
    expect(frames).toEqual(["0d", "aa 55 02 0d"]);
  });
});
