import { afterEach, describe, expect, test } from "bun:test";
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SerialSettingsSchema } from "../../src/config/device-definition.ts";
import { ManualClock } from "../../src/core/clock.ts";
import { Hub } from "../../src/core/hub.ts";
import type { Transport } from "../../src/engine/transport.ts";
import { BunBinding } from "../../src/serial/binding.ts";
import { isSerialError } from "../../src/serial/errors.ts";
import type { Framing } from "../../src/serial/framing/framer.ts";
import { slipEncode } from "../../src/serial/framing/slip.ts";
import { SerialLink, type SerialLinkOptions } from "../../src/serial/link.ts";
import type { LinkState } from "../../src/serial/link-state.ts";
import { openPty, type Pty } from "../../src/serial/pty.ts";
import { ReaderPool } from "../../src/serial/reader-pool.ts";
import { firstDifference, randomBytes, receive, stty } from "./helpers.ts";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
});

function pty(): Pty {
  const p = openPty();
  cleanup.push(() => p.close());
  return p;
}

function link(hub: Hub, options: Partial<SerialLinkOptions> & { path: string; framing: Framing }, deps: Partial<ConstructorParameters<typeof SerialLink>[0]> = {}): SerialLink {
  const l = new SerialLink({ hub, random: () => 0.5, ...deps }, { serial: { baud: 115200 }, ...options });
  cleanup.push(() => l.close());
  return l;
}

/** The next `n` frames of a link. */
function frames(l: SerialLink, n: number): Promise<Uint8Array[]> {
  const got: Uint8Array[] = [];
  return new Promise((resolve) => {
    const off = l.onFrame((f) => {
      got.push(f);
      if (got.length === n) {
        off();
        resolve(got);
      }
    });
  });
}

const str = (b: Uint8Array) => new TextDecoder().decode(b);

describe("framed round trips", () => {
  for (const baud of [9600, 115200, 460800]) {
    test(`at ${baud} baud, device lines arrive as frames and written frames reach the device`, async () => {
      const hub = new Hub();
      const device = pty();
      const l = link(hub, { path: device.path, framing: { kind: "delimiter", delimiter: "\r\n" }, serial: { baud } });
      await l.open();
      expect(l.state).toBe("open");
      const got = frames(l, 2);
      await device.write("T=21.5\r\nH=");
      await device.write("45\r\n");
      expect((await got).map(str)).toEqual(["T=21.5", "H=45"]);
      const sent = receive(device, 7);
      await l.writeFrame("GET T");
      expect(str(await sent)).toBe("GET T\r\n");
    });
  }

  test("SLIP packets arrive decoded and go out encoded", async () => {
    const hub = new Hub();
    const device = pty();
    const l = link(hub, { path: device.path, framing: { kind: "slip" } });
    await l.open();
    const packet = new Uint8Array([0x01, 0xc0, 0xdb, 0x02]);
    const got = frames(l, 1);
    await device.write(slipEncode(packet));
    expect(await got).toEqual([packet]);
    const wire = slipEncode(new Uint8Array([0xc0]));
    const sent = receive(device, wire.length);
    await l.writeFrame(new Uint8Array([0xc0]));
    expect(await sent).toEqual(wire);
  });

  test("a Modbus RTU reply written in one go becomes one frame after the silence", async () => {
    const hub = new Hub();
    const device = pty();
    const l = link(hub, { path: device.path, framing: { kind: "gap" }, serial: { baud: 9600, parity: "even" } });
    await l.open();
    const reply = new Uint8Array([0x01, 0x03, 0x04, 0x00, 0xe6, 0x01, 0xc2, 0x5b, 0x9a]);
    const got = frames(l, 1);
    await device.write(reply);
    expect(await got).toEqual([reply]);
  });

  test("fixed-length records arrive one frame each", async () => {
    const hub = new Hub();
    const device = pty();
    const l = link(hub, { path: device.path, framing: { kind: "length", length: 3 } });
    await l.open();
    const got = frames(l, 3);
    await device.write("abcdefghi");
    expect((await got).map(str)).toEqual(["abc", "def", "ghi"]);
  });

  test("1 MiB of random bytes through a link arrives intact and in order", async () => {
    const hub = new Hub();
    const device = pty();
    const l = link(hub, { path: device.path, framing: { kind: "raw" } });
    await l.open();
    const data = randomBytes(1024 * 1024);
    const received = new Uint8Array(data.length);
    let at = 0;
    const done = new Promise<void>((resolve) =>
      l.onFrame((f) => {
        received.set(f, at);
        at += f.length;
        if (at === data.length) resolve();
      }),
    );
    await device.write(data);
    await done;
    expect(firstDifference(received, data)).toBe(-1);
  });

  test("frames are also events on the bus, and a failing frame listener does not stop the others", async () => {
    const hub = new Hub();
    const device = pty();
    const l = link(hub, { path: device.path, framing: { kind: "delimiter", delimiter: "\n" } });
    await l.open();
    l.onFrame(() => {
      throw new Error("a broken consumer");
    });
    const got = frames(l, 1);
    const onBus = hub.bus.waitFor("serial_frame");
    await device.write("hello\n");
    expect((await got).map(str)).toEqual(["hello"]);
    const event = await onBus;
    expect(event.data.path).toBe(device.path);
    expect(str(event.data.frame)).toBe("hello");
  });

  test("a SerialLink is what the device engine takes as a Transport", () => {
    const l: Transport = new SerialLink({ hub: new Hub() }, { path: "/dev/null", framing: { kind: "delimiter", delimiter: "\n" } });
    expect(l.state).toBe("closed");
  });
});

describe("line settings", () => {
  test("every parity a model may name reaches the tty: mark and space as CMSPAR, odd and mark with PARODD", async () => {
    // A pty keeps PARODD and CMSPAR (it clears only PARENB and the character size: see binding.test.ts).
    const expected = {
      none: ["-parodd", "-cmspar", "-inpck"],
      even: ["-parodd", "-cmspar", "inpck"],
      odd: ["parodd", "-cmspar", "inpck"],
      mark: ["parodd", "cmspar", "inpck"],
      space: ["-parodd", "cmspar", "inpck"],
    };
    const device = pty();
    for (const [parity, flags] of Object.entries(expected)) {
      const serial = SerialSettingsSchema.parse({ parity });
      const l = link(new Hub(), { path: device.path, framing: { kind: "raw" }, serial });
      await l.open();
      const seen = (await stty(device.path)).flags;
      expect({ parity, flags: flags.filter((f) => seen.has(f)) }).toEqual({ parity, flags });
      await l.close();
    }
  });
});

describe("opening and closing", () => {
  test("open on a missing path throws SERIAL_NOT_FOUND and leaves the link closed", async () => {
    const hub = new Hub();
    const states: LinkState[] = [];
    hub.bus.listen("serial_link_state", async (e) => void states.push(e.data.state));
    const l = link(hub, { path: "/dev/ttyUSB-hearth-missing", framing: { kind: "raw" } });
    const err = await l.open().catch((e) => e);
    expect(isSerialError(err, "SERIAL_NOT_FOUND")).toBe(true);
    expect(l.state).toBe("closed");
  });

  test("a closed link refuses writes with SERIAL_NOT_OPEN", async () => {
    const l = link(new Hub(), { path: pty().path, framing: { kind: "raw" } });
    expect(isSerialError(await l.write("x").catch((e) => e), "SERIAL_NOT_OPEN")).toBe(true);
  });

  test("hub shutdown closes an open link and its reader Worker", async () => {
    const hub = new Hub();
    const readers = new ReaderPool();
    const device = pty();
    const l = link(hub, { path: device.path, framing: { kind: "raw" } }, { binding: new BunBinding({ readers }) });
    await hub.start();
    await l.open();
    expect(readers.stats().workers).toBe(1);
    const result = await hub.stop();
    expect(result.clean).toBe(true);
    expect(l.state).toBe("closed");
    expect(readers.stats()).toEqual({ workers: 0, ports: 0 });
  });
});

describe("unplug and replug", () => {
  test("device gone → unavailable → path back → reopened and data flows, each step an event", async () => {
    const hub = new Hub();
    const dir = await mkdtemp(join(tmpdir(), "hearth-link-"));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, "ttyUSB0"); // as /dev/serial/by-id/… is: a symlink udev makes and removes
    const first = pty();
    await symlink(first.path, path);
    const transitions: string[] = [];
    hub.bus.listen("serial_link_state", async (e) => void transitions.push(`${e.data.previous}→${e.data.state}`));
    const l = link(hub, { path, framing: { kind: "delimiter", delimiter: "\n" }, reconnect: { initialMs: 5, maxMs: 40 } });
    await l.open();
    const before = frames(l, 1);
    await first.write("before\n");
    expect((await before).map(str)).toEqual(["before"]);

    // Unplug: the device side closes (reads fail) and udev removes the link.
    const unavailable = hub.bus.waitFor("serial_link_state", (d) => d.state === "unavailable");
    await first.close();
    await rm(path);
    expect((await unavailable).data.code).toBe("SERIAL_DISCONNECTED");
    expect(isSerialError(await l.write("x").catch((e) => e), "SERIAL_NOT_OPEN")).toBe(true);
    const missing = await hub.bus.waitFor("serial_link_retry", (d) => d.code === "SERIAL_NOT_FOUND");
    expect(missing.data.delayMs).toBeLessThanOrEqual(40);

    // Replug: a new tty appears behind the same path.
    const second = pty();
    const reopened = hub.bus.waitFor("serial_link_state", (d) => d.state === "open");
    await symlink(second.path, path);
    await reopened;
    const after = frames(l, 1);
    await second.write("after\n");
    expect((await after).map(str)).toEqual(["after"]);
    const sent = receive(second, 3);
    await l.writeFrame("ok");
    expect(str(await sent)).toBe("ok\n");

    await l.close();
    expect(transitions).toEqual(["closed→opening", "opening→open", "open→unavailable", "unavailable→open", "open→closed"]);
  });

  /** The delays of a link's first `count` retries after its device went away (random() is 0.5: no jitter). */
  async function retryDelays(reconnect: SerialLinkOptions["reconnect"], count: number): Promise<number[]> {
    const clock = new ManualClock();
    const hub = new Hub({ clock });
    const dir = await mkdtemp(join(tmpdir(), "hearth-link-"));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, "ttyACM0");
    const device = pty();
    await symlink(device.path, path);
    const l = link(hub, { path, framing: { kind: "raw" }, ...(reconnect ? { reconnect } : {}) });
    await l.open();
    const delays: number[] = [];
    hub.bus.listen("serial_link_retry", async (e) => void delays.push(e.data.delayMs));
    let next = hub.bus.waitFor("serial_link_retry");
    await device.close();
    await rm(path);
    for (let i = 0; i < count - 1; i++) {
      const retry = await next;
      next = hub.bus.waitFor("serial_link_retry");
      clock.advance(retry.data.delayMs);
    }
    await next;
    await l.close();
    expect(l.state).toBe("closed");
    expect(clock.pending).toBe(0);
    return delays;
  }

  test("retries back off exponentially up to the cap, and stop once the link is closed", async () => {
    expect(await retryDelays({ initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.2 }, 7)).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
  });

  test("by default retries start at 250 ms and stop growing at 10 s", async () => {
    expect(await retryDelays(undefined, 8)).toEqual([250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
  });
});
