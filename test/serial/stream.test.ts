import { afterEach, describe, expect, test } from "bun:test";
import { once } from "node:events";
import { ByteLengthParser } from "@serialport/parser-byte-length";
import { DelimiterParser } from "@serialport/parser-delimiter";
import { InterByteTimeoutParser } from "@serialport/parser-inter-byte-timeout";
import { ReadlineParser } from "@serialport/parser-readline";
import { SlipEncoder } from "@serialport/parser-slip-encoder";
import { SerialPortStream } from "@serialport/stream";
import { systemClock } from "../../src/core/clock.ts";
import { BunBinding } from "../../src/serial/binding.ts";
import { createFramer } from "../../src/serial/framing/framer.ts";
import { openPty, type Pty } from "../../src/serial/pty.ts";
import { firstDifference, randomBytes, receive } from "./helpers.ts";

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
});

async function openStream(baudRate = 115200): Promise<{ pty: Pty; stream: SerialPortStream }> {
  const pty = openPty();
  cleanup.push(() => pty.close());
  const stream = new SerialPortStream({ binding: new BunBinding(), path: pty.path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => stream.open((err) => (err ? reject(err) : resolve())));
  cleanup.push(
    () =>
      new Promise<void>((resolve) => {
        if (!stream.isOpen) return resolve();
        stream.close(() => resolve());
      }),
  );
  return { pty, stream };
}

/** The next `n` items a stream emits as `data`. */
function take<T>(stream: NodeJS.ReadableStream, n: number): Promise<T[]> {
  const items: T[] = [];
  return new Promise((resolve, reject) => {
    const onData = (item: T) => {
      items.push(item);
      if (items.length === n) {
        stream.off("data", onData);
        resolve(items);
      }
    };
    stream.on("data", onData);
    stream.once("error", reject);
  });
}

describe("@serialport's stack on BunBinding", () => {
  test("ReadlineParser on SerialPortStream yields the device's lines", async () => {
    const { pty, stream } = await openStream();
    const lines = stream.pipe(new ReadlineParser({ delimiter: "\r\n" }));
    const got = take<string>(lines, 3);
    await pty.write("T=21.5\r\nH=4");
    await pty.write("5\r\nBOOT ok\r\n");
    expect(await got).toEqual(["T=21.5", "H=45", "BOOT ok"]);
  });

  test("SerialPortStream writes reach the device, with drain", async () => {
    const { pty, stream } = await openStream();
    const got = receive(pty, 6);
    stream.write("hello\n");
    await new Promise<void>((resolve, reject) => stream.drain((err) => (err ? reject(err) : resolve())));
    expect(new TextDecoder().decode(await got)).toBe("hello\n");
  });

  test("1 MiB of random bytes arrives through SerialPortStream intact and in order", async () => {
    const { pty, stream } = await openStream();
    const data = randomBytes(1024 * 1024);
    const chunks: Buffer[] = [];
    let length = 0;
    const done = new Promise<void>((resolve) =>
      stream.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        length += chunk.length;
        if (length >= data.length) resolve();
      }),
    );
    await pty.write(data);
    await done;
    expect(firstDifference(Buffer.concat(chunks), data)).toBe(-1);
  });

  test("DelimiterParser, ByteLengthParser and InterByteTimeoutParser cut the stream as they do on the native binding", async () => {
    const { pty, stream } = await openStream();
    const byDelimiter = take<Buffer>(stream.pipe(new DelimiterParser({ delimiter: ";" })), 2);
    const byLength = take<Buffer>(stream.pipe(new ByteLengthParser({ length: 4 })), 2);
    const byGap = take<Buffer>(stream.pipe(new InterByteTimeoutParser({ interval: 30 })), 1);
    await pty.write("ab;cd;ef");
    expect((await byDelimiter).map(String)).toEqual(["ab", "cd"]);
    expect((await byLength).map(String)).toEqual(["ab;c", "d;ef"]);
    expect((await byGap).map(String)).toEqual(["ab;cd;ef"]);
  });

  test("hearth's SLIP framing decodes what @serialport's SlipEncoder wrote", async () => {
    const { pty, stream } = await openStream();
    const packets = [new Uint8Array([1, 2, 0xc0, 3]), new Uint8Array([0xdb, 0xdc, 0xdd]), new Uint8Array([42])];
    const encoded: Buffer[] = [];
    const encoder = new SlipEncoder({ bluetoothQuirk: false });
    encoder.on("data", (b: Buffer) => encoded.push(b));
    for (const p of packets) encoder.write(Buffer.from(p));
    await new Promise((resolve) => setImmediate(resolve));
    const frames: Uint8Array[] = [];
    const framer = createFramer({ kind: "slip" }, (f) => frames.push(f), { clock: systemClock, characterMs: 0.1 });
    const total = encoded.reduce((n, b) => n + b.length, 0);
    const arrived = receive(pty, total);
    stream.write(Buffer.concat(encoded));
    framer.push(await arrived);
    expect(frames).toEqual(packets);
  });

  test("closing the stream cancels its pending read without an error event", async () => {
    const { stream } = await openStream();
    const errors: unknown[] = [];
    stream.on("error", (e) => errors.push(e));
    stream.resume(); // a read is now pending in the binding
    const closed = once(stream, "close");
    stream.close();
    await closed;
    expect(errors).toEqual([]);
  });
});
