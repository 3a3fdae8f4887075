import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ManualClock } from "../../src/core/clock.ts";
import { createFramer, encodeFrame, type Framing } from "../../src/serial/framing/framer.ts";

const latin1 = new TextDecoder("latin1");
const bytes = (s: string) => Buffer.from(s, "latin1");
const data = join(import.meta.dir, "../../devices/victron-mppt/captures");

function framesOf(framing: Framing, chunks: Array<Uint8Array | string>): { frames: string[]; dropped: number } {
  const frames: string[] = [];
  const framer = createFramer(framing, (f) => frames.push(latin1.decode(f)), { clock: new ManualClock(), characterMs: 1 });
  for (const c of chunks) framer.push(typeof c === "string" ? bytes(c) : c);
  return { frames, dropped: framer.dropped ?? 0 };
}

const block = { kind: "marker", marker: "\r\nChecksum\t", trailing: 1 } as const;

describe("marker framing", () => {
  test("a frame ends one byte after the marker, the marker and that byte kept, whatever the byte is", () => {
    for (const byte of ["\r", "\n", "\t", "\0", ":", "C", "\xff"]) {
      const stream = `\r\nV\t1\r\nChecksum\t${byte}\r\nV\t2\r\nChecksum\t${byte}`;
      expect(framesOf(block, [stream]).frames).toEqual([`\r\nV\t1\r\nChecksum\t${byte}`, `\r\nV\t2\r\nChecksum\t${byte}`]);
    }
  });

  test("frames split at every place across two chunks, and into single bytes, come out the same", () => {
    const stream = "\r\nPID\t0xA053\r\nChecksum\t\r\r\nV\t2\r\r\nChecksum\t\n\r\nI\t3";
    const whole = framesOf(block, [stream]).frames;
    expect(whole).toEqual(["\r\nPID\t0xA053\r\nChecksum\t\r", "\r\nV\t2\r\r\nChecksum\t\n"]);
    expect(framesOf(block, [...stream]).frames).toEqual(whole);
    for (let i = 1; i < stream.length; i++) expect(framesOf(block, [stream.slice(0, i), stream.slice(i)]).frames).toEqual(whole);
  });

  test("a marker that begins again inside a false start is still found (\\r\\r\\nChecksum)", () => {
    expect(framesOf({ kind: "marker", marker: "abac", trailing: 1 }, ["xxababacZrest"]).frames).toEqual(["xxababacZ"]);
    expect(framesOf(block, ["\r\nX\t1\r\r\r\nChecksum\tQ"]).frames).toEqual(["\r\nX\t1\r\r\r\nChecksum\tQ"]);
  });

  test("no trailing bytes: a frame ends with its marker", () => {
    expect(framesOf({ kind: "marker", marker: "END", trailing: 0 }, ["aEN", "DbEND"]).frames).toEqual(["aEND", "bEND"]);
  });

  test("a frame longer than maxLength is skipped and counted once, and the next one comes through", () => {
    const long = `\r\nV\t${"9".repeat(100)}\r\nChecksum\tx`;
    const { frames, dropped } = framesOf({ ...block, maxLength: 64 }, [long.slice(0, 50), long.slice(50), "\r\nV\t1\r\nChecksum\ty"]);
    expect(frames).toEqual(["\r\nV\t1\r\nChecksum\ty"]);
    expect(dropped).toBe(1);
    // Long in one chunk too.
    expect(framesOf({ ...block, maxLength: 64 }, [`${long}\r\nV\t1\r\nChecksum\ty`])).toEqual({ frames: ["\r\nV\t1\r\nChecksum\ty"], dropped: 1 });
  });

  test("a stream that never sends the marker holds no more than maxLength", () => {
    const { frames, dropped } = framesOf(
      { ...block, maxLength: 32 },
      Array.from({ length: 100 }, () => "0123456789"),
    );
    expect(frames).toEqual([]);
    expect(dropped).toBe(1);
  });

  test("reset drops a partial frame, a marker half matched or a trailer awaited", () => {
    const frames: string[] = [];
    const framer = createFramer(block, (f) => frames.push(latin1.decode(f)), { clock: new ManualClock(), characterMs: 1 });
    framer.push(bytes("\r\nV\t1\r\nCheck"));
    framer.reset();
    framer.push(bytes("sum\tX\r\nV\t2\r\nChecksum\t"));
    framer.reset();
    framer.push(bytes("Y\r\nV\t3\r\nChecksum\tZ"));
    expect(frames).toEqual(["Y\r\nV\t3\r\nChecksum\tZ"]);
  });

  test("the SmartSolar capture, HEX message and all, is cut into its five blocks", () => {
    const capture = readFileSync(join(data, "smartsolar-mppt.bin"));
    const { frames } = framesOf(block, [capture]);
    expect(frames).toHaveLength(5);
    expect(frames[3]!.startsWith(":A4F10000200000000B2\n\r\nPID")).toBe(true); // the HEX message leads the block after it
    expect(frames[3]!.endsWith("Checksum\t\r")).toBe(true);
  });

  test("an outgoing frame is written as it is", () => {
    expect(encodeFrame(block, bytes("abc"))).toEqual(bytes("abc"));
  });
});
