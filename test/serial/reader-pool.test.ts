import { afterEach, describe, expect, test } from "bun:test";
import { silentLogger } from "../../src/core/logger.ts";
import { BunBinding, normalizeOpenOptions } from "../../src/serial/binding.ts";
import { BunPort } from "../../src/serial/port.ts";
import { openPty, type Pty } from "../../src/serial/pty.ts";
import { ReaderPool } from "../../src/serial/reader-pool.ts";
import { ReaderThread } from "../../src/serial/reader-thread.ts";
import { openTty } from "../../src/serial/tty.ts";
import { firstDifference, randomBytes, receive } from "./helpers.ts";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
});

async function ports(n: number, readers: ReaderPool): Promise<Array<{ pty: Pty; port: BunPort }>> {
  const binding = new BunBinding({ readers });
  const out: Array<{ pty: Pty; port: BunPort }> = [];
  for (let i = 0; i < n; i++) {
    const pty = openPty({ readers });
    cleanup.push(() => pty.close());
    const port = await binding.open({ path: pty.path, baudRate: 115200 });
    cleanup.push(() => port.close());
    out.push({ pty, port });
  }
  return out;
}

describe("reader Workers", () => {
  test("one Worker polls many ports, and each port gets only its own bytes", async () => {
    const readers = new ReaderPool({ portsPerWorker: 32 });
    const all = await ports(20, readers);
    expect(readers.stats()).toEqual({ workers: 1, ports: 20 });
    const got = all.map(({ port }, i) => receive(port, 8 + String(i).length));
    await Promise.all(all.map(({ pty }, i) => pty.write(`port ${i} ok`)));
    expect((await Promise.all(got)).map((b) => new TextDecoder().decode(b))).toEqual(all.map((_, i) => `port ${i} ok`));
  });

  test("fifty ports cost two Workers, and the last close stops them", async () => {
    const readers = new ReaderPool({ portsPerWorker: 32 });
    const all = await ports(50, readers);
    expect(readers.stats()).toEqual({ workers: 2, ports: 50 });
    for (const { port } of all) await port.close();
    expect(readers.stats()).toEqual({ workers: 0, ports: 0 });
  });

  test("a full ring pauses reading until the loop takes bytes, and nothing is lost", async () => {
    const readers = new ReaderPool({ ringSize: 4096 });
    const [{ pty, port }] = (await ports(1, readers)) as [{ pty: Pty; port: BunPort }];
    const data = randomBytes(1024 * 1024);
    const sent = pty.write(data);
    // Read in small bites, so the Worker keeps finding the ring full and must wait for the loop.
    const out = Buffer.alloc(data.length);
    let at = 0;
    while (at < data.length) at += (await port.read(out, at, Math.min(1000, data.length - at))).bytesRead;
    await sent;
    expect(firstDifference(out, data)).toBe(-1);
  });

  test("bytes that arrived before a listener was set are delivered to it first", async () => {
    const readers = new ReaderPool();
    const [{ pty, port }] = (await ports(1, readers)) as [{ pty: Pty; port: BunPort }];
    await pty.write("early");
    await port.waitReadable();
    expect(new TextDecoder().decode(await receive(port, 5))).toBe("early");
  });

  test("a port is polled from its start, not its making; started again it is still one port of its reader Worker", async () => {
    const readers = new ReaderPool();
    const pty = openPty({ readers });
    cleanup.push(() => pty.close());
    const port = new BunPort(openTty(pty.path, true), normalizeOpenOptions({ path: pty.path, baudRate: 115200 }), readers);
    cleanup.push(() => port.close());
    expect(readers.stats()).toEqual({ workers: 0, ports: 0 });
    expect(port.isOpen).toBe(false);
    port.start();
    port.start();
    expect(readers.stats()).toEqual({ workers: 1, ports: 1 });
    await pty.write("once");
    expect(new TextDecoder().decode(await receive(port, 4))).toBe("once");
    await pty.write("!");
    expect(new TextDecoder().decode(await receive(port, 1))).toBe("!");
  });

  test("a reader thread holds no pipe or Worker until started, and a second start makes no second pipe or Worker", async () => {
    // Read off the thread itself: the process's descriptor count moves with whatever else is closing.
    const inside = (t: ReaderThread) => t as unknown as { wakeFds: Int32Array; worker: unknown };
    const thread = new ReaderThread(4, 4096, 0, async () => {}, silentLogger(), undefined);
    expect([...inside(thread).wakeFds]).toEqual([-1, -1]);
    expect(inside(thread).worker).toBeUndefined();
    thread.start();
    const pipe = [...inside(thread).wakeFds];
    const worker = inside(thread).worker;
    expect(pipe.every((fd) => fd >= 0)).toBe(true);
    expect(worker).toBeDefined();
    // Its Worker runs: bytes on a port reach the loop.
    const pty = openPty();
    cleanup.push(() => pty.close());
    const arrived = Promise.withResolvers<void>();
    const slot = thread.add(pty.heldSlaveFd, { onData: () => arrived.resolve(), onWritable: () => {}, onError: () => {} });
    await pty.write("x");
    await arrived.promise;
    thread.start();
    expect([...inside(thread).wakeFds]).toEqual(pipe);
    expect(inside(thread).worker).toBe(worker);
    await thread.remove(slot);
    await thread.stop();
  });
});
