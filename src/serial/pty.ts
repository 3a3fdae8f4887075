import { type ChannelListener, FdChannel } from "./channel.ts";
import { ioError, SerialError } from "./errors.ts";
import { errno, lib, openptyFunction } from "./libc.ts";
import { type ReaderPool, sharedReaderPool } from "./reader-pool.ts";
import { F_GETFL, F_SETFD, F_SETFL, FD_CLOEXEC, IOCTL, O_NONBLOCK, TCSANOW } from "./termios.ts";
import { layout } from "./tty.ts";

export interface OpenPtyOptions {
  /** Reader Workers for the master side (default: the shared pool). */
  readers?: ReaderPool;
}

/**
 * A pseudo-terminal for simulators and tests: a real tty at `path` that hearth opens like any serial
 * port, and the device's side (`master`) to read what hearth sent and to answer. The slave starts in
 * raw mode, and this object keeps one slave fd open so the master never sees a hang-up while hearth
 * closes and reopens the port; `closeSlave()` and `closeMaster()` let a test pull the plug.
 */
export class Pty {
  /** The slave's path (/dev/pts/N). */
  readonly path: string;
  private readonly channel: FdChannel;
  private slaveFd: number;
  private started = false;
  private closing: Promise<void> | undefined;

  constructor(masterFd: number, slaveFd: number, path: string, readers: ReaderPool) {
    this.path = path;
    this.slaveFd = slaveFd;
    this.channel = new FdChannel(masterFd, `${path} (master)`, readers);
  }

  /** The master fd (the device's end). */
  get masterFd(): number {
    return this.channel.fd;
  }

  /** The slave fd this object holds, or -1 once closed. */
  get heldSlaveFd(): number {
    return this.slaveFd;
  }

  /** Sends bytes to hearth, as the device would. */
  write(data: Uint8Array | string): Promise<void> {
    this.start();
    return this.channel.write(typeof data === "string" ? new TextEncoder().encode(data) : data);
  }

  /** Bytes written to hearth that no one has read from the port yet (FIONREAD on the slave this object holds; 0 once it is closed). */
  unread(): number {
    if (this.slaveFd < 0) return 0;
    const count = new Int32Array(1);
    return lib().ioctl(this.slaveFd, IOCTL.FIONREAD, count) === 0 ? count[0]! : 0;
  }

  /** Receives what hearth writes, as it arrives (views valid during the call); returns the function that stops it. */
  listen(listener: ChannelListener): () => void {
    this.start();
    return this.channel.listen(listener);
  }

  /** Reads 1..length bytes hearth wrote. */
  read(buffer: Uint8Array, offset = 0, length = buffer.length - offset): Promise<number> {
    this.start();
    return this.channel.read(buffer, offset, length);
  }

  /** Closes the slave fd this object holds (hearth's own fds stay open). */
  closeSlave(): void {
    if (this.slaveFd < 0) return;
    lib().close(this.slaveFd);
    this.slaveFd = -1;
  }

  /** Closes the device's end: hearth's reads on the slave fail with EIO, as on a USB unplug. */
  closeMaster(): Promise<void> {
    return this.close();
  }

  /** Closes both ends this object holds. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closeSlave();
      await this.channel.close();
    })();
    return this.closing;
  }

  private start(): void {
    if (this.started || this.closing !== undefined) return;
    this.started = true;
    this.channel.start();
  }
}

function setFlags(fd: number): void {
  const c = lib();
  const flags = c.fcntl(fd, F_GETFL, 0);
  if (flags < 0 || c.fcntl(fd, F_SETFL, flags | O_NONBLOCK) !== 0 || c.fcntl(fd, F_SETFD, FD_CLOEXEC) !== 0) {
    throw ioError("pty", "fcntl", errno());
  }
}

/** Opens a pseudo-terminal pair (openpty(3)) with the slave in raw mode and both fds non-blocking and close-on-exec. */
export function openPty(options: OpenPtyOptions = {}): Pty {
  const c = lib();
  const master = new Int32Array(1);
  const slave = new Int32Array(1);
  const name = new Uint8Array(4096); // openpty writes the name with strcpy; PATH_MAX is plenty
  if (openptyFunction()(master, slave, name, null, null) !== 0) {
    throw new SerialError("SERIAL_IO_FAILED", `openpty failed: errno ${errno()}`, { errno: errno() });
  }
  const masterFd = master[0]!;
  const slaveFd = slave[0]!;
  try {
    setFlags(masterFd);
    setFlags(slaveFd);
    const termios = new Uint8Array(layout().size);
    if (c.tcgetattr(slaveFd, termios) !== 0) throw ioError("pty", "tcgetattr", errno());
    c.cfmakeraw(termios);
    if (c.tcsetattr(slaveFd, TCSANOW, termios) !== 0) throw ioError("pty", "tcsetattr", errno());
  } catch (err) {
    c.close(masterFd);
    c.close(slaveFd);
    throw err;
  }
  const path = new TextDecoder().decode(name.subarray(0, name.indexOf(0)));
  return new Pty(masterFd, slaveFd, path, options.readers ?? sharedReaderPool);
}
