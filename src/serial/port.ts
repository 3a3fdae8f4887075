import type { BindingPortInterface, OpenOptions, PortStatus, SetOptions, UpdateOptions } from "@serialport/bindings-interface";
import { type ChannelListener, FdChannel } from "./channel.ts";
import { SerialError } from "./errors.ts";
import type { ReaderPool } from "./reader-pool.ts";
import { bitsPerCharacter, type Parity } from "./settings.ts";
import { TCIOFLUSH, TIOCM } from "./termios.ts";
import { flushTty, getBaudRate, getModemBits, outputQueue, releaseExclusive, setBaudRate, setModemLines } from "./tty.ts";

/** Open options with every default filled in (what `openOptions` reports). */
export type PortOptions = Required<OpenOptions>;

/**
 * An open serial port: @serialport's BindingPortInterface in full, over an FdChannel. Beyond the
 * interface, `listen` delivers bytes as they arrive without a read per chunk (what SerialLink uses).
 * `start()` hands its fd to the reader pool (BunBinding.open does), and `isOpen` holds from then on.
 */
export class BunPort implements BindingPortInterface {
  readonly openOptions: PortOptions;
  private readonly channel: FdChannel;
  private baudRate: number;

  constructor(fd: number, options: PortOptions, pool: ReaderPool) {
    this.openOptions = options;
    this.baudRate = options.baudRate;
    this.channel = new FdChannel(fd, options.path, pool);
  }

  /** Starts reading: the fd is polled by a reader Worker from now on. A second call does nothing. */
  start(): void {
    this.channel.start();
  }

  get path(): string {
    return this.openOptions.path;
  }

  get fd(): number {
    return this.channel.fd;
  }

  get isOpen(): boolean {
    return this.channel.isOpen;
  }

  /** Why the port ended (unplugged, failed), once it has. */
  get error(): SerialError | undefined {
    return this.channel.error;
  }

  /** Pushes bytes as they arrive (views valid during the call) and the port's end; returns the function that stops it. */
  listen(listener: ChannelListener): () => void {
    return this.channel.listen(listener);
  }

  /** Resolves once bytes are waiting to be read, without taking them (at once if some are, or once the port has ended). */
  waitReadable(): Promise<void> {
    return this.channel.waitReadable();
  }

  async close(): Promise<void> {
    if (this.channel.isOpen) releaseExclusive(this.channel.fd);
    await this.channel.close();
  }

  async read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
    const bytesRead = await this.channel.read(buffer, offset, length);
    return { buffer, bytesRead };
  }

  write(buffer: Buffer): Promise<void> {
    return this.channel.write(buffer);
  }

  async update(options: UpdateOptions): Promise<void> {
    if (typeof options?.baudRate !== "number") {
      throw new SerialError("SERIAL_INVALID_OPTIONS", `update on ${this.path}: baudRate must be a number`, { path: this.path });
    }
    this.ensureOpen("update");
    setBaudRate(this.fd, this.path, options.baudRate);
    this.baudRate = options.baudRate;
  }

  async set(options: SetOptions): Promise<void> {
    this.ensureOpen("set");
    setModemLines(this.fd, this.path, { dtr: options.dtr ?? true, rts: options.rts ?? true, brk: options.brk ?? false });
  }

  async get(): Promise<PortStatus> {
    this.ensureOpen("get");
    const bits = getModemBits(this.fd, this.path);
    return { cts: (bits & TIOCM.CTS) !== 0, dsr: (bits & TIOCM.DSR) !== 0, dcd: (bits & TIOCM.CAR) !== 0 };
  }

  async getBaudRate(): Promise<{ baudRate: number }> {
    this.ensureOpen("getBaudRate");
    return { baudRate: getBaudRate(this.fd, this.path) };
  }

  async flush(): Promise<void> {
    this.ensureOpen("flush");
    flushTty(this.fd, this.path, TCIOFLUSH);
    this.channel.discardInput();
  }

  /** Waits, without blocking the loop, until queued writes are taken and the driver has sent them. */
  async drain(): Promise<void> {
    this.ensureOpen("drain");
    await this.channel.whenWritten();
    for (;;) {
      if (!this.channel.isOpen) return;
      const queued = outputQueue(this.fd, this.path);
      if (queued === 0) return;
      await Bun.sleep(Math.max(1, Math.ceil((queued * this.bitsPerCharacter() * 1000) / this.baudRate)));
    }
  }

  /** Start, data, parity and stop bits of one character on the line. */
  bitsPerCharacter(): number {
    const o = this.openOptions;
    return bitsPerCharacter({ data_bits: o.dataBits, parity: o.parity as Parity, stop_bits: o.stopBits === 1 ? 1 : 2 });
  }

  /** The baud rate set at open or by the last update. */
  get currentBaudRate(): number {
    return this.baudRate;
  }

  private ensureOpen(what: string): void {
    if (!this.channel.isOpen) throw new SerialError("SERIAL_NOT_OPEN", `Cannot ${what}: ${this.path} is not open`, { path: this.path });
  }
}
