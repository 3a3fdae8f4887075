import { HearthError } from "../core/errors.ts";
import { ERRNO } from "./termios.ts";

/** Codes of the errors the serial layer raises. */
export type SerialErrorCode =
  | "SERIAL_NOT_FOUND"
  | "SERIAL_PERMISSION_DENIED"
  | "SERIAL_BUSY"
  | "SERIAL_NOT_A_TTY"
  | "SERIAL_UNSUPPORTED_BAUD"
  | "SERIAL_INVALID_OPTIONS"
  | "SERIAL_MODEM_LINES_UNSUPPORTED"
  | "SERIAL_NOT_OPEN"
  | "SERIAL_WRITE_PENDING"
  | "SERIAL_CANCELED"
  | "SERIAL_DISCONNECTED"
  | "SERIAL_IO_FAILED"
  | "SERIAL_UNSUPPORTED_PLATFORM";

/**
 * An error of the serial layer. `canceled` is what @serialport/stream looks at: a read or write that
 * ended because the port was closed on purpose is canceled; any other error means the port is gone.
 */
export class SerialError extends HearthError<SerialErrorCode> {
  override readonly name = "SerialError";
  /** The errno behind it, when a system call failed. */
  readonly errno: number | undefined;
  /** The port it concerns. */
  readonly path: string | undefined;
  readonly canceled: boolean;

  constructor(code: SerialErrorCode, message: string, options: { errno?: number; path?: string; cause?: unknown } = {}) {
    super(code, message, { cause: options.cause });
    this.errno = options.errno;
    this.path = options.path;
    this.canceled = code === "SERIAL_CANCELED";
  }
}

/** Narrows an unknown thrown value to a SerialError, optionally of one code. */
export function isSerialError<C extends SerialErrorCode>(err: unknown, code?: C): err is SerialError & { code: C } {
  return err instanceof SerialError && (code === undefined || err.code === code);
}

const ERRNO_NAMES: Record<number, string> = Object.fromEntries(Object.entries(ERRNO).map(([name, n]) => [n, name]));

/** "EACCES" for 13, "errno 99" for what hearth does not name. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

/** Whether an errno from read/write/poll means the device went away (USB unplug, pty master closed). */
export function isDisconnectErrno(errno: number): boolean {
  return errno === ERRNO.EIO || errno === ERRNO.ENXIO || errno === ERRNO.ENODEV || errno === ERRNO.EBADF;
}

/** The typed error for a failed open(2) of `path`, with what the user can do about it. */
export function openError(path: string, errno: number): SerialError {
  const at = { errno, path };
  switch (errno) {
    case ERRNO.ENOENT:
    case ERRNO.ENOTDIR:
    case ERRNO.ENODEV:
    case ERRNO.ENXIO:
      return new SerialError("SERIAL_NOT_FOUND", `Serial port ${path} not found (${errnoName(errno)}): is the device plugged in? \`hearth ports\` lists the ports present`, at);
    case ERRNO.EACCES:
    case ERRNO.EPERM:
    case ERRNO.EROFS:
      return new SerialError(
        "SERIAL_PERMISSION_DENIED",
        `Permission denied opening serial port ${path} (${errnoName(errno)}): add the user running hearth to the ` +
          "`dialout` group (sudo usermod -aG dialout $USER, then log in again), or run the service under a user in that group",
        at,
      );
    case ERRNO.EBUSY:
    case ERRNO.EAGAIN:
      return busyError(path, errno);
    case ERRNO.EISDIR:
    case ERRNO.ENOTTY:
      return new SerialError("SERIAL_NOT_A_TTY", `${path} is not a serial port (${errnoName(errno)})`, at);
    default:
      return new SerialError("SERIAL_IO_FAILED", `Cannot open serial port ${path}: ${errnoName(errno)}`, at);
  }
}

/** The typed error for a port another process holds. */
export function busyError(path: string, errno: number): SerialError {
  return new SerialError("SERIAL_BUSY", `Serial port ${path} is in use by another program (${errnoName(errno)}); stop it (ModemManager, a terminal, another hearth) or pick another port`, {
    errno,
    path,
  });
}

/** The error a pending read or write gets when its port is closed on purpose. */
export function canceledError(path: string, what: string): SerialError {
  return new SerialError("SERIAL_CANCELED", `${what} on ${path} canceled: the port was closed`, { path });
}

/** The error for a port that went away under a read or write. */
export function disconnectedError(path: string, errno: number): SerialError {
  const why = errno === 0 ? "hang-up" : errnoName(errno);
  return new SerialError("SERIAL_DISCONNECTED", `Serial port ${path} disconnected (${why})`, { errno, path });
}

/** The error for any other failed system call on an open port. */
export function ioError(path: string, call: string, errno: number): SerialError {
  return new SerialError("SERIAL_IO_FAILED", `${call} on ${path} failed: ${errnoName(errno)}`, { errno, path });
}
