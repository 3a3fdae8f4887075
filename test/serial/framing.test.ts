import { describe, expect, test } from "bun:test";
import { ManualClock } from "../../src/core/clock.ts";
import { createFramer, encodeFrame, type Framing } from "../../src/serial/framing/framer.ts";
import { SLIP, slipEncode } from "../../src/serial/framing/slip.ts";

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

function framesOf(framing: Framing, chunks: Array<Uint8Array | string>, clock = new ManualClock()): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const framer = createFramer(framing, (f) => frames.push(f), { clock, characterMs: 1 });
  for (const c of chunks) framer.push(typeof c === "string" ? text(c) : c);
  return frames;
}

/** Every way to cut `input` in two, and into single bytes. */
function splits(input: string): string[][] {
  const out = [[input], [...input]];
  for (let i = 1; i < input.length; i++) out.push([input.slice(0, i), input.slice(i)]);
  return out;
}

describe("delimiter framing", () => {
  test("lines split anywhere across chunks come out whole", () => {
    for (const chunks of splits("T=21.5\nH=45\n\nX")) {
      expect(framesOf({ kind: "delimiter", delimiter: "\n" }, chunks).map(str)).toEqual(["T=21.5", "H=45", ""]);
    }
  });

  test("a two-byte delimiter split between chunks is recognised", () => {
    for (const chunks of splits("ab\r\ncd\r\ne\rf\r\n")) {
      expect(framesOf({ kind: "delimiter", delimiter: "\r\n" }, chunks).map(str)).toEqual(["ab", "cd", "e\rf"]);
    }
  });

  test("a three-byte delimiter is found wherever chunks cut it", () => {
    for (const chunks of splits("1<#>22<<#>3<#")) {
      expect(framesOf({ kind: "delimiter", delimiter: "<#>" }, chunks).map(str)).toEqual(["1", "22<"]);
    }
  });

  test("a frame longer than maxLength is dropped up to its delimiter and the next one comes through", () => {
    expect(framesOf({ kind: "delimiter", delimiter: "\n", maxLength: 4 }, ["abc", "defgh", "ij\nok\n"]).map(str)).toEqual(["ok"]);
    expect(framesOf({ kind: "delimiter", delimiter: "\n", maxLength: 4 }, ["abcdefgh", "\nok\n"]).map(str)).toEqual(["ok"]);
  });

  test("the length limit holds however the chunks cut the stream: a frame of maxLength passes, one byte more is counted and dropped", () => {
    for (const delimiter of ["\n", "\r\n", "<#>"]) {
      for (const chunks of splits(`abcd${delimiter}abcde${delimiter}ok${delimiter}`)) {
        const frames: string[] = [];
        const framer = createFramer({ kind: "delimiter", delimiter, maxLength: 4 }, (f) => frames.push(str(f)), { clock: new ManualClock(), characterMs: 1 });
        for (const c of chunks) framer.push(text(c));
        expect(frames).toEqual(["abcd", "ok"]);
        expect(framer.dropped).toBe(1);
      }
    }
  });

  test("each frame is a copy the receiver may keep", () => {
    const chunk = text("one\ntwo\n");
    const frames = framesOf({ kind: "delimiter", delimiter: "\n" }, [chunk]);
    chunk.fill(0);
    expect(frames.map(str)).toEqual(["one", "two"]);
  });
});

describe("SLIP framing", () => {
  test("escaped END and ESC bytes decode back, and empty packets are skipped", () => {
    const packet = new Uint8Array([1, SLIP.END, 2, SLIP.ESC, 3]);
    const wire = slipEncode(packet);
    expect([...wire]).toEqual([SLIP.END, 1, SLIP.ESC, SLIP.ESC_END, 2, SLIP.ESC, SLIP.ESC_ESC, 3, SLIP.END]);
    for (let cut = 0; cut <= wire.length; cut++) {
      const frames = framesOf({ kind: "slip" }, [wire.subarray(0, cut), wire.subarray(cut), new Uint8Array([SLIP.END, SLIP.END])]);
      expect(frames).toEqual([packet]);
    }
  });

  test("an oversized packet is dropped whole, and counted", () => {
    const frames: Uint8Array[] = [];
    const framer = createFramer({ kind: "slip", maxLength: 3 }, (f) => frames.push(f), { clock: new ManualClock(), characterMs: 1 });
    for (const packet of [[1, 2, 3, 4], [5]]) framer.push(slipEncode(new Uint8Array(packet)));
    expect(frames).toEqual([new Uint8Array([5])]);
    expect(framer.dropped).toBe(1);
  });
});

describe("gap framing (Modbus RTU)", () => {
  test("bytes become a frame once the line has been silent for the gap", () => {
    const clock = new ManualClock();
    const frames: Uint8Array[] = [];
    const framer = createFramer({ kind: "gap", gapMs: 5 }, (f) => frames.push(f), { clock, characterMs: 1 });
    framer.push(new Uint8Array([1, 3]));
    clock.advance(4);
    framer.push(new Uint8Array([0, 0, 0, 2]));
    clock.advance(4);
    expect(frames).toEqual([]);
    clock.advance(1);
    expect(frames).toEqual([new Uint8Array([1, 3, 0, 0, 0, 2])]);
    framer.push(new Uint8Array([9]));
    clock.advance(5);
    expect(frames.length).toBe(2);
  });

  test("the default gap is 3.5 character times, and never under 2 ms", () => {
    for (const [characterMs, gap] of [
      [1.04, 4], // 9600 baud, 10 bits a character
      [0.0868, 2], // 115200 baud
    ] as const) {
      const clock = new ManualClock();
      const frames: Uint8Array[] = [];
      const framer = createFramer({ kind: "gap" }, (f) => frames.push(f), { clock, characterMs });
      framer.push(new Uint8Array([1]));
      clock.advance(gap - 1);
      expect(frames.length).toBe(0);
      clock.advance(1);
      expect(frames.length).toBe(1);
    }
  });

  test("with a completeness rule, a whole frame ends at once and the rest still waits for the silence", () => {
    const clock = new ManualClock();
    const frames: Uint8Array[] = [];
    // A toy rule: a frame is whole once it holds as many bytes as its first byte says.
    const complete = (f: Uint8Array) => f.length > 0 && f.length === f[0];
    const framer = createFramer({ kind: "gap", gapMs: 4, complete }, (f) => frames.push(f), { clock, characterMs: 1 });
    framer.push(Uint8Array.of(3, 7));
    expect(frames.length).toBe(0);
    framer.push(Uint8Array.of(9)); // split across reads, whole on the second
    expect(frames.map((f) => [...f])).toEqual([[3, 7, 9]]);
    framer.push(Uint8Array.of(2, 1, 1)); // longer than it says: not whole, so ended by the silence
    clock.advance(3);
    expect(frames.length).toBe(1);
    clock.advance(1);
    expect(frames.map((f) => [...f])).toEqual([
      [3, 7, 9],
      [2, 1, 1],
    ]);
  });

  test("reset drops a partial frame and its timer", () => {
    const clock = new ManualClock();
    const frames: Uint8Array[] = [];
    const framer = createFramer({ kind: "gap", gapMs: 3 }, (f) => frames.push(f), { clock, characterMs: 1 });
    framer.push(new Uint8Array([1]));
    framer.reset();
    expect(clock.pending).toBe(0);
    clock.advance(10);
    expect(frames).toEqual([]);
  });
});

describe("fixed-length framing", () => {
  test("records of the given length come out whatever the chunks", () => {
    for (const chunks of splits("aaaabbbbcc")) {
      expect(framesOf({ kind: "length", length: 4 }, chunks).map(str)).toEqual(["aaaa", "bbbb"]);
    }
  });
});

describe("encoding outgoing frames", () => {
  test("delimiter framing appends the delimiter; SLIP escapes; others write as given", () => {
    expect(str(encodeFrame({ kind: "delimiter", delimiter: "\r\n" }, text("GET")))).toBe("GET\r\n");
    expect(encodeFrame({ kind: "slip" }, new Uint8Array([SLIP.END]))).toEqual(new Uint8Array([SLIP.END, SLIP.ESC, SLIP.ESC_END, SLIP.END]));
    expect(encodeFrame({ kind: "gap" }, new Uint8Array([1, 2]))).toEqual(new Uint8Array([1, 2]));
  });
});

describe("bracketed framing (start byte … end byte, trailer, delimiter)", () => {
  const bracketed: Framing = { kind: "bracketed", start: "/", end: "!", trailer: 4, delimiter: "\r\n", maxLength: 64 };

  test("frames split anywhere across chunks come out whole, the delimiter removed, with or without a trailer", () => {
    for (const chunks of splits("/A\r\n1(2)\r\n!1F2E\r\n/B\r\n!\r\n")) {
      expect(framesOf(bracketed, chunks).map(str)).toEqual(["/A\r\n1(2)\r\n!1F2E", "/B\r\n!"]);
    }
  });

  test("bytes before a start byte are handed on as one run, for the receiver to count", () => {
    for (const chunks of splits("xy\r\n/A!00\r\n")) {
      expect(framesOf(bracketed, chunks).map(str)).toEqual(["xy\r\n", "/A!00"]);
    }
  });

  test("a start byte inside a frame abandons it (handed on as it is) and opens the next", () => {
    expect(framesOf(bracketed, ["/A\r\n1(2/B\r\n!00\r\n"]).map(str)).toEqual(["/A\r\n1(2", "/B\r\n!00"]);
    expect(framesOf(bracketed, ["/A!00/B!01\r\n"]).map(str)).toEqual(["/A!00", "/B!01"]);
  });

  test("a trailer that runs past its length without the delimiter is handed on without it, and the stream resynchronises", () => {
    expect(framesOf(bracketed, ["/A!123456\r\n/B!00\r\n"]).map(str)).toEqual(["/A!123456", "\r\n", "/B!00"]);
  });

  test("a frame longer than maxLength is handed on cut at maxLength and counted; the next frame comes through", () => {
    const frames: string[] = [];
    const framer = createFramer(bracketed, (f) => frames.push(str(f)), { clock: new ManualClock(), characterMs: 1 });
    framer.push(text(`/${"a".repeat(100)}!00\r\n`));
    framer.push(text("/B!00\r\n"));
    expect(frames.at(-1)).toBe("/B!00");
    expect(frames[0]).toHaveLength(64);
    expect(frames.every((f) => f.length <= 64)).toBe(true);
    expect(framer.dropped).toBe(1);
  });

  test("noise without any start byte never grows a buffer past maxLength", () => {
    const frames = framesOf(bracketed, ["z".repeat(200)]);
    expect(frames.map((f) => f.length)).toEqual([64, 64, 64]);
  });

  test("reset drops a partial frame", () => {
    const frames: string[] = [];
    const framer = createFramer(bracketed, (f) => frames.push(str(f)), { clock: new ManualClock(), characterMs: 1 });
    framer.push(text("/A\r\n1(2"));
    framer.reset();
    framer.push(text("3)!00\r\n/B!00\r\n"));
    expect(frames).toEqual(["3)!00\r\n", "/B!00"]);
  });
});
