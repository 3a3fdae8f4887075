import { canceledError, disconnectedError, ioError, isDisconnectErrno, SerialError } from "./errors.ts";
import { errno, lib } from "./libc.ts";
import type { ReaderConsumer, ReaderPool, ReaderSlot } from "./reader-pool.ts";
import { ERRNO } from "./termios.ts";

/** Push-mode handlers: bytes as they arrive, and the end of the port. */
export interface ChannelListener {
  /** A view of arrived bytes, valid only during the call: copy what you keep. */
  data(chunk: Uint8Array): void;
  /** The port went away (or failed); no more data follows. */
  error(err: SerialError): void;
}

interface PendingRead {
  buffer: Uint8Array;
  offset: number;
  length: number;
  resolve: (bytesRead: number) => void;
  reject: (err: SerialError) => void;
}

interface PendingWrite {
  data: Uint8Array;
  offset: number;
  resolve: () => void;
  reject: (err: SerialError) => void;
}

const DONE = Promise.resolve();

/**
 * An open non-blocking file descriptor (a tty, either end of a pty) served by a reader Worker: reads
 * come from the Worker's ring, pulled (`read`) or pushed (`listen`); writes go straight to write(2) on the
 * loop, which never blocks on a non-blocking fd, and wait for POLLOUT through the Worker when the
 * kernel's buffer is full. Closing cancels what is pending and returns once the Worker has let go.
 */
export class FdChannel implements ReaderConsumer {
  private slot: ReaderSlot | undefined;
  private pendingRead: PendingRead | undefined;
  private listener: ChannelListener | undefined;
  private readonly writes: PendingWrite[] = [];
  private failure: SerialError | undefined;
  private readableWaiters: Array<() => void> = [];
  private closing: Promise<void> | undefined;

  constructor(
    readonly fd: number,
    /** The path or name used in errors. */
    readonly path: string,
    private readonly pool: ReaderPool,
  ) {}

  /** Starts polling the fd. A second call, or one after close, does nothing. */
  start(): void {
    if (this.closing !== undefined) return;
    this.slot ??= this.pool.add(this.fd, this);
  }

  get isOpen(): boolean {
    return this.slot !== undefined && this.closing === undefined;
  }

  /** Why the port ended, once it has. */
  get error(): SerialError | undefined {
    return this.failure;
  }

  /** Resolves with 1..length bytes copied into `buffer`; rejects with a canceled error at close, or a disconnect. */
  read(buffer: Uint8Array, offset: number, length: number): Promise<number> {
    const slot = this.slot;
    if (slot === undefined || this.closing !== undefined) return Promise.reject(this.notOpen("read"));
    if (this.pendingRead !== undefined || this.listener !== undefined) {
      return Promise.reject(new SerialError("SERIAL_INVALID_OPTIONS", `A read is already pending on ${this.path}`, { path: this.path }));
    }
    if (length <= 0) return Promise.resolve(0);
    const n = slot.copyOut(buffer, offset, length);
    if (n > 0) return Promise.resolve(n);
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pendingRead = { buffer, offset, length, resolve, reject };
    });
  }

  /** Resolves once bytes are waiting to be read (at once if some are), or the channel has ended. */
  waitReadable(): Promise<void> {
    if (this.slot === undefined || this.closing !== undefined || this.failure !== undefined || this.slot.available() > 0) return DONE;
    return new Promise((resolve) => this.readableWaiters.push(resolve));
  }

  /** Delivers bytes as they arrive instead of through `read`; returns the function that stops it. */
  listen(listener: ChannelListener): () => void {
    this.listener = listener;
    if (this.slot !== undefined && this.slot.available() > 0) this.onData();
    if (this.failure !== undefined) listener.error(this.failure);
    return () => {
      if (this.listener === listener) this.listener = undefined;
    };
  }

  /** Writes all of `data`; resolves once the kernel has taken the last byte. Writes are queued in order. */
  write(data: Uint8Array): Promise<void> {
    if (this.slot === undefined || this.closing !== undefined) return Promise.reject(this.notOpen("write"));
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (data.length === 0) return this.whenWritten();
    if (this.writes.length === 0) {
      const offset = this.writeSome(data, 0);
      if (offset < 0) return Promise.reject(this.failure);
      if (offset === data.length) return DONE;
      return new Promise((resolve, reject) => {
        this.writes.push({ data, offset, resolve, reject });
        this.slot?.wantWrite();
      });
    }
    return new Promise((resolve, reject) => this.writes.push({ data, offset: 0, resolve, reject }));
  }

  /** Resolves when every queued write has been taken by the kernel. */
  whenWritten(): Promise<void> {
    const last = this.writes.at(-1);
    if (last === undefined) return DONE;
    return new Promise((resolve, reject) => {
      const { resolve: prior, reject: priorReject } = last;
      last.resolve = () => {
        prior();
        resolve();
      };
      last.reject = (err) => {
        priorReject(err);
        reject(err);
      };
    });
  }

  /** Drops bytes read but not yet taken. */
  discardInput(): void {
    this.slot?.discard();
  }

  /** Cancels pending reads and writes, stops polling, closes the fd. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  onData(): void {
    const slot = this.slot;
    if (slot === undefined) return;
    if (this.readableWaiters.length > 0) this.wakeReadableWaiters();
    if (this.listener !== undefined) {
      const listener = this.listener;
      slot.consume((chunk) => listener.data(chunk));
      return;
    }
    const pending = this.pendingRead;
    if (pending === undefined) return;
    const n = slot.copyOut(pending.buffer, pending.offset, pending.length);
    if (n === 0) return;
    this.pendingRead = undefined;
    pending.resolve(n);
  }

  onWritable(): void {
    while (this.writes.length > 0) {
      const head = this.writes[0]!;
      const offset = this.writeSome(head.data, head.offset);
      if (offset < 0) return;
      head.offset = offset;
      if (offset < head.data.length) {
        this.slot?.wantWrite();
        return;
      }
      this.writes.shift();
      head.resolve();
    }
  }

  onError(code: number): void {
    this.fail(code === -1 ? disconnectedError(this.path, 0) : isDisconnectErrno(code) ? disconnectedError(this.path, code) : ioError(this.path, "read", code));
  }

  /** write(2) from `offset` until done or EAGAIN; the new offset, or -1 after failing the channel. */
  private writeSome(data: Uint8Array, offset: number): number {
    const c = lib();
    while (offset < data.length) {
      const n = c.write(this.fd, offset === 0 ? data : data.subarray(offset), data.length - offset);
      if (n > 0) {
        offset += n;
        continue;
      }
      const e = n < 0 ? errno() : ERRNO.EIO;
      if (e === ERRNO.EAGAIN) break;
      if (e === ERRNO.EINTR) continue;
      this.fail(isDisconnectErrno(e) ? disconnectedError(this.path, e) : ioError(this.path, "write", e));
      return -1;
    }
    return offset;
  }

  /** Ends the channel with `err`: bytes already in the ring are still delivered first. */
  private fail(err: SerialError): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    for (const w of this.writes.splice(0)) w.reject(err);
    // Whatever is still in the ring goes out before the error.
    if (this.slot !== undefined && this.slot.available() > 0) this.onData();
    const pending = this.pendingRead;
    if (pending !== undefined) {
      this.pendingRead = undefined;
      pending.reject(err);
    }
    this.listener?.error(err);
    this.wakeReadableWaiters();
  }

  private wakeReadableWaiters(): void {
    for (const resolve of this.readableWaiters.splice(0)) resolve();
  }

  private notOpen(what: string): SerialError {
    return new SerialError("SERIAL_NOT_OPEN", `Cannot ${what}: ${this.path} is not open`, { path: this.path });
  }

  private async shutdown(): Promise<void> {
    const pending = this.pendingRead;
    this.pendingRead = undefined;
    pending?.reject(canceledError(this.path, "read"));
    for (const w of this.writes.splice(0)) w.reject(canceledError(this.path, "write"));
    this.listener = undefined;
    this.wakeReadableWaiters();
    try {
      await this.slot?.remove();
    } finally {
      lib().close(this.fd); // only now: the Worker can no longer poll a number the kernel might reuse
    }
  }
}
