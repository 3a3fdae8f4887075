/** A pymodbus slave script (devices/modbus-rtu/peers/) on one end of a pty pair: an independent Modbus implementation for tests. */
import { existsSync } from "node:fs";
import { openPty } from "../../src/serial/pty.ts";

const PYTHON = "/usr/bin/python3";

/** Whether Debian's python3-pymodbus (and python3-serial-asyncio) can run the peers; the tests against it are skipped without. */
export const hasPymodbus = existsSync(PYTHON) && Bun.spawnSync([PYTHON, "-c", "import pymodbus.server.async_io, serial_asyncio"]).exitCode === 0;
if (!hasPymodbus) console.warn("pymodbus not found (Debian python3-pymodbus, python3-serial-asyncio): the tests against it are skipped");

/**
 * Starts `script` with the far end's tty path and `args`, and resolves once it prints "ready" with the
 * near end's path (what hearth opens) and the function that stops it all.
 */
export async function startPymodbusPeer(script: string, args: string[]): Promise<{ path: string; stop: () => Promise<void> }> {
  const a = openPty();
  const b = openPty();
  const offA = a.listen({ data: (chunk) => void b.write(chunk.slice()).catch(() => {}), error: () => {} });
  const offB = b.listen({ data: (chunk) => void a.write(chunk.slice()).catch(() => {}), error: () => {} });
  const child = Bun.spawn([PYTHON, script, b.path, ...args], { stdout: "pipe", stderr: "pipe" });
  const stop = async () => {
    child.kill();
    await child.exited;
    offA();
    offB();
    await a.close();
    await b.close();
  };
  const reader = (child.stdout as ReadableStream<Uint8Array>).getReader();
  let out = "";
  while (!out.includes("ready")) {
    const { value, done } = await reader.read();
    if (done) {
      const why = await new Response(child.stderr as ReadableStream).text();
      await stop();
      throw new Error(`pymodbus peer exited: ${why}`);
    }
    out += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return { path: a.path, stop };
}
