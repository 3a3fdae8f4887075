/** Helpers of the serial tests: collecting bytes from either end, and asking stty what a tty is set to. */
import type { ChannelListener } from "../../src/serial/channel.ts";

/** Something that pushes bytes: a Pty's master side or a BunPort. */
export interface ByteSource {
  listen(listener: ChannelListener): () => void;
}

/** Resolves with the first `n` bytes `source` delivers (rejects if it ends first). */
export function receive(source: ByteSource, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let got = 0;
  return new Promise((resolve, reject) => {
    let done = false;
    let stop: (() => void) | undefined;
    stop = source.listen({
      data(chunk) {
        if (done) return;
        const take = Math.min(chunk.length, n - got);
        out.set(chunk.subarray(0, take), got);
        got += take;
        if (got === n) {
          done = true;
          stop?.();
          resolve(out);
        }
      },
      error(err) {
        if (done) return;
        done = true;
        reject(err);
      },
    });
    if (done) stop();
  });
}

/** Random bytes (getRandomValues fills at most 64 KiB a call). */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

/** What `stty -a -F path` reports: the speed and the flags as a set ("cs8", "-parenb", "crtscts", …). */
export async function stty(path: string): Promise<{ speed: number; flags: Set<string>; text: string }> {
  const proc = Bun.spawn(["stty", "-a", "-F", path], { stdout: "pipe", stderr: "pipe" });
  const [text, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`stty -a -F ${path} failed: ${err}`);
  const speed = Number(/speed (\d+) baud/.exec(text)?.[1]);
  const flags = new Set(text.split(/[\s;]+/).filter((w) => /^-?[a-z0-9]+$/.test(w)));
  return { speed, flags, text };
}

/** Whether two byte arrays are equal, reporting the first difference (faster than expect().toEqual on a MiB). */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  if (Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length))) return -1;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}
