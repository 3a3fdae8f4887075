/**
 * A host's end of a line protocol, for tests that talk to a board on a serial port line by line:
 * the port is opened by hearth's own serial code (BunBinding: the tty in raw mode by termios, read by
 * the reader Workers), so what the test sees is what hearth would receive.
 */
import { BunBinding } from "../../src/serial/binding.ts";
import type { BunPort } from "../../src/serial/port.ts";
import { until } from "./until.ts";

export class LineClient {
  /** Every line received since the port was opened, in order, without its `\r\n`. */
  readonly lines: string[] = [];
  private partial = "";
  private readonly decoder = new TextDecoder();

  private constructor(private readonly port: BunPort) {}

  /** Opens `path` at `baudRate` and starts collecting lines. */
  static async open(path: string, baudRate: number): Promise<LineClient> {
    const client = new LineClient(await new BunBinding().open({ path, baudRate }));
    client.port.listen({ data: (chunk) => client.receive(chunk), error: () => {} });
    return client;
  }

  /** Sends `line` and its `\n`. */
  send(line: string): Promise<void> {
    return this.port.write(Buffer.from(`${line}\n`));
  }

  /** Resolves with the index of the first line at `from` or after that `match` accepts; fails after `ms`. */
  async next(match: (line: string) => boolean, from: number, what: string, ms = 10_000): Promise<number> {
    let found = -1;
    await until(
      () => {
        found = this.lines.findIndex((line, i) => i >= from && match(line));
        return found >= 0;
      },
      `${what} (lines so far: ${JSON.stringify(this.lines.slice(from, from + 20))})`,
      ms,
    );
    return found;
  }

  /** Sends `line` and resolves with the index of its reply: the first `OK` or `ERR` line after it. */
  request(line: string, ms = 10_000): Promise<number> {
    const from = this.lines.length;
    return this.send(line).then(() => this.next((l) => /^(OK|ERR) /.test(l), from, `a reply to ${JSON.stringify(line)}`, ms));
  }

  close(): Promise<void> {
    return this.port.close();
  }

  private receive(chunk: Uint8Array): void {
    const parts = (this.partial + this.decoder.decode(chunk, { stream: true })).split("\n");
    this.partial = parts.pop()!;
    for (const part of parts) this.lines.push(part.endsWith("\r") ? part.slice(0, -1) : part);
  }
}
