import { afterEach, describe, expect, test } from "bun:test";
import { BunBinding } from "../../src/serial/binding.ts";
import { isSerialError } from "../../src/serial/errors.ts";
import type { BunPort } from "../../src/serial/port.ts";
import { openPty, type Pty } from "../../src/serial/pty.ts";
import { ReaderPool } from "../../src/serial/reader-pool.ts";
import { firstDifference, randomBytes, receive, stty } from "./helpers.ts";

const open: Array<{ close(): Promise<void> }> = [];
function track<T extends { close(): Promise<void> }>(thing: T): T {
  open.push(thing);
  return thing;
}
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close().catch(() => {});
});

async function pair(options: { baudRate?: number; lock?: boolean; binding?: BunBinding } = {}): Promise<{ pty: Pty; port: BunPort }> {
  const pty = track(openPty());
  const binding = options.binding ?? new BunBinding();
  const port = track(await binding.open({ path: pty.path, baudRate: options.baudRate ?? 115200, lock: options.lock }));
  return { pty, port };
}

async function readExactly(port: BunPort, n: number): Promise<Buffer> {
  const buffer = Buffer.alloc(n);
  let got = 0;
  while (got < n) got += (await port.read(buffer, got, n - got)).bytesRead;
  return buffer;
}

describe("round trips", () => {
  for (const baudRate of [1200, 9600, 115200, 921600]) {
    test(`bytes written at ${baudRate} baud arrive at the device, and its answer arrives back`, async () => {
      const { pty, port } = await pair({ baudRate });
      const toDevice = receive(pty, 5);
      await port.write(Buffer.from("ping\n"));
      expect(new TextDecoder().decode(await toDevice)).toBe("ping\n");
      await pty.write("pong\n");
      expect((await readExactly(port, 5)).toString()).toBe("pong\n");
      expect((await port.getBaudRate()).baudRate).toBe(baudRate);
    });
  }

  test("1 MiB of random bytes from the device arrives intact and in order", async () => {
    const { pty, port } = await pair();
    const data = randomBytes(1024 * 1024);
    const sent = pty.write(data);
    const got = await readExactly(port, data.length);
    await sent;
    expect(firstDifference(got, data)).toBe(-1);
  });

  test("1 MiB of random bytes to the device arrives intact and in order, though the kernel takes it in pieces", async () => {
    const { pty, port } = await pair();
    const data = randomBytes(1024 * 1024);
    const got = receive(pty, data.length);
    await port.write(Buffer.from(data));
    expect(firstDifference(await got, data)).toBe(-1);
  });

  test("drain resolves once written bytes have left (a pty sends at once)", async () => {
    const { pty, port } = await pair();
    const got = receive(pty, 3);
    await port.write(Buffer.from("abc"));
    await port.drain();
    expect(new TextDecoder().decode(await got)).toBe("abc");
  });

  test("flush drops bytes received but not yet read", async () => {
    const { pty, port } = await pair();
    await pty.write("stale");
    await port.waitReadable();
    await port.flush();
    await pty.write("fresh");
    expect((await readExactly(port, 5)).toString()).toBe("fresh");
  });
});

describe("termios as stty sees it", () => {
  test("open sets raw mode, the baud rate and 8N1 without flow control", async () => {
    const { pty } = await pair({ baudRate: 57600, lock: false });
    const { speed, flags } = await stty(pty.path);
    expect(speed).toBe(57600);
    for (const f of ["cs8", "-parenb", "-cstopb", "-crtscts", "-icanon", "-echo", "-isig", "-opost", "-ixon", "cread", "clocal", "hupcl"]) {
      expect(flags).toContain(f);
    }
  });

  test("odd parity, 2 stop bits, RTS/CTS and no hang-up on close are what stty reports", async () => {
    const pty = track(openPty());
    track(await new BunBinding().open({ path: pty.path, baudRate: 19200, dataBits: 7, parity: "odd", stopBits: 2, rtscts: true, hupcl: false, lock: false }));
    const { speed, flags } = await stty(pty.path);
    expect(speed).toBe(19200);
    for (const f of ["parodd", "cstopb", "crtscts", "-hupcl", "inpck"]) expect(flags).toContain(f);
    // The pty driver itself forces CS8 and clears PARENB (pty_set_termios), so a pty cannot show cs7 or
    // parenb; termios.test.ts checks that hearth encodes them.
    expect(flags).toContain("cs8");
  });

  test("update changes the baud rate stty reports", async () => {
    const { pty, port } = await pair({ baudRate: 9600, lock: false });
    expect((await stty(pty.path)).speed).toBe(9600);
    await port.update({ baudRate: 230400 });
    expect((await stty(pty.path)).speed).toBe(230400);
    expect((await port.getBaudRate()).baudRate).toBe(230400);
  });

  test("update to a non-standard rate is refused with SERIAL_UNSUPPORTED_BAUD and leaves the rate as it was", async () => {
    const { pty, port } = await pair({ baudRate: 9600, lock: false });
    const err = await port.update({ baudRate: 12345 }).catch((e) => e);
    expect(isSerialError(err, "SERIAL_UNSUPPORTED_BAUD")).toBe(true);
    expect((await stty(pty.path)).speed).toBe(9600);
  });
});

describe("modem lines", () => {
  test("a pty has no modem lines: set and get fail with SERIAL_MODEM_LINES_UNSUPPORTED, saying why", async () => {
    const { port } = await pair();
    const got = await port.get().catch((e) => e);
    expect(isSerialError(got, "SERIAL_MODEM_LINES_UNSUPPORTED")).toBe(true);
    expect(got.message).toContain("pseudo-terminal");
    expect(got.errno).toBe(25); // ENOTTY
    const set = await port.set({ dtr: false, rts: true }).catch((e) => e);
    expect(isSerialError(set, "SERIAL_MODEM_LINES_UNSUPPORTED")).toBe(true);
    expect(port.isOpen).toBe(true); // the port itself is fine
  });
});

describe("closing", () => {
  test("close during a blocked read returns within 200 ms, cancels the read and leaves no Worker behind", async () => {
    const readers = new ReaderPool();
    const pty = track(openPty());
    const port = await new BunBinding({ readers }).open({ path: pty.path, baudRate: 9600 });
    expect(readers.stats()).toEqual({ workers: 1, ports: 1 });
    const pending = port.read(Buffer.alloc(16), 0, 16).catch((e) => e);
    const started = performance.now();
    await port.close();
    const took = performance.now() - started;
    const err = await pending;
    expect(took).toBeLessThan(200);
    expect(err.canceled).toBe(true);
    expect(isSerialError(err, "SERIAL_CANCELED")).toBe(true);
    expect(readers.stats()).toEqual({ workers: 0, ports: 0 });
    expect(port.isOpen).toBe(false);
  });

  test("a reopened port gets every byte: no stale reader takes any", async () => {
    const pty = track(openPty());
    const binding = new BunBinding();
    for (let round = 0; round < 5; round++) {
      const port = await binding.open({ path: pty.path, baudRate: 9600 });
      const pending = port.read(Buffer.alloc(8), 0, 8).catch(() => undefined);
      await port.close();
      await pending;
    }
    const port = track(await binding.open({ path: pty.path, baudRate: 9600 }));
    await pty.write("12345678");
    expect((await readExactly(port, 8)).toString()).toBe("12345678");
  });

  test("close is safe to call twice, and a closed port refuses reads and writes with SERIAL_NOT_OPEN", async () => {
    const { port } = await pair();
    await Promise.all([port.close(), port.close()]);
    await port.close();
    expect(isSerialError(await port.write(Buffer.from("x")).catch((e) => e), "SERIAL_NOT_OPEN")).toBe(true);
    expect(isSerialError(await port.read(Buffer.alloc(1), 0, 1).catch((e) => e), "SERIAL_NOT_OPEN")).toBe(true);
    expect(isSerialError(await port.update({ baudRate: 9600 }).catch((e) => e), "SERIAL_NOT_OPEN")).toBe(true);
  });

  test("a pending read fails as a disconnect (not canceled) when the device side goes away", async () => {
    const { pty, port } = await pair();
    const pending = port.read(Buffer.alloc(8), 0, 8).catch((e) => e);
    await pty.close();
    const err = await pending;
    expect(isSerialError(err, "SERIAL_DISCONNECTED")).toBe(true);
    expect(err.canceled).toBe(false);
    expect([0, 5]).toContain(err.errno); // a hang-up (read returns 0) or EIO, as the kernel has it
  });
});
