import { expect, test } from "bun:test";
import { stat } from "node:fs/promises";
import { BunBinding } from "../../src/serial/binding.ts";
import { isSerialError } from "../../src/serial/errors.ts";
import { lib } from "../../src/serial/libc.ts";
import { openPty } from "../../src/serial/pty.ts";
import { ReaderPool } from "../../src/serial/reader-pool.ts";
import { POLL } from "../../src/serial/termios.ts";
import { until } from "../helpers/until.ts";
import { receive, stty } from "./helpers.ts";

test("openPty gives a real tty at a /dev/pts path, already in raw mode", async () => {
  const pty = openPty();
  try {
    expect(pty.path).toMatch(/^\/dev\/pts\/\d+$/);
    expect((await stat(pty.path)).isCharacterDevice()).toBe(true);
    const { flags } = await stty(pty.path);
    for (const f of ["-icanon", "-echo", "-opost", "-isig"]) expect(flags).toContain(f);
  } finally {
    await pty.close();
  }
});

test("what the device side writes can be read on the slave, byte for byte (no echo, no CR/LF mangling)", async () => {
  const pty = openPty();
  try {
    const slave = new Uint8Array(16);
    await pty.write("a\r\nb\n");
    // Wait with poll(2) and read the held slave fd with read(2): the pty itself, without hearth's port.
    const pollfd = new Int32Array([pty.heldSlaveFd, POLL.IN]);
    expect(lib().poll(pollfd, 1, 5000)).toBe(1);
    const n = lib().read(pty.heldSlaveFd, slave, slave.length);
    expect(new TextDecoder().decode(slave.subarray(0, n))).toBe("a\r\nb\n");
  } finally {
    await pty.close();
  }
});

test("the device side hears what is written to the slave", async () => {
  const pty = openPty();
  try {
    const got = receive(pty, 3);
    expect(lib().write(pty.heldSlaveFd, new TextEncoder().encode("xyz"), 3)).toBe(3);
    expect(new TextDecoder().decode(await got)).toBe("xyz");
  } finally {
    await pty.close();
  }
});

test("a closed pty refuses writes, and close is safe to call twice", async () => {
  const readers = new ReaderPool();
  const pty = openPty({ readers });
  await pty.write("x");
  expect(readers.stats().workers).toBe(1);
  await Promise.all([pty.close(), pty.close()]);
  expect(isSerialError(await pty.write("y").catch((e) => e), "SERIAL_NOT_OPEN")).toBe(true);
  expect(readers.stats().workers).toBe(0);
});

test("unread() counts the bytes sent to hearth that no one has read from the port yet", async () => {
  const pty = openPty();
  try {
    await pty.write("hello\n");
    await until(() => pty.unread() === 6, "the line waiting on the slave");
    const port = await new BunBinding().open({ path: pty.path, baudRate: 9600 });
    try {
      expect(new TextDecoder().decode(await receive(port, 6))).toBe("hello\n");
      await until(() => pty.unread() === 0, "the line read");
    } finally {
      await port.close();
    }
  } finally {
    await pty.close();
  }
  expect(pty.unread()).toBe(0);
});
