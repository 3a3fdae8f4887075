/**
 * Synchronous termios and ioctl calls on an open tty fd, each a quick system call that never waits
 * for the line (no TCSADRAIN, no tcdrain), with failures turned into typed errors.
 */
import { busyError, errnoName, ioError, openError, SerialError } from "./errors.ts";
import { cString, errno, lib } from "./libc.ts";
import {
  ERRNO,
  encodeLineSettings,
  IOCTL,
  isStandardBaudRate,
  type LineSettings,
  LOCK_EX,
  LOCK_NB,
  O_CLOEXEC,
  O_NOCTTY,
  O_NONBLOCK,
  O_RDWR,
  rateOfSpeed,
  TCSANOW,
  type TermiosLayout,
  TIOCM,
  termiosLayout,
} from "./termios.ts";

/** This architecture's termios layout, or a clear error on one hearth has not checked. */
export function layout(): TermiosLayout {
  const found = termiosLayout();
  if (found === undefined) {
    throw new SerialError("SERIAL_UNSUPPORTED_PLATFORM", `hearth's serial binding knows the termios layout of x64 and arm64, not ${process.arch}`);
  }
  return found;
}

/** A termios buffer filled by tcgetattr. */
function getAttributes(fd: number, path: string): Uint8Array {
  const termios = new Uint8Array(layout().size);
  if (lib().tcgetattr(fd, termios) !== 0) {
    const e = errno();
    if (e === ERRNO.ENOTTY || e === ERRNO.EINVAL) throw new SerialError("SERIAL_NOT_A_TTY", `${path} is not a serial port (tcgetattr: ${errnoName(e)})`, { errno: e, path });
    throw ioError(path, "tcgetattr", e);
  }
  return termios;
}

function setAttributes(fd: number, path: string, termios: Uint8Array): void {
  if (lib().tcsetattr(fd, TCSANOW, termios) !== 0) throw ioError(path, "tcsetattr", errno());
}

/** Rejects a rate Linux cannot set with a plain termios. */
export function checkBaudRate(path: string, rate: number): void {
  if (!isStandardBaudRate(rate)) {
    throw new SerialError(
      "SERIAL_UNSUPPORTED_BAUD",
      `Baud rate ${rate} is not supported on ${path}; use a standard rate (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, …)`,
      { path },
    );
  }
}

function setSpeed(path: string, termios: Uint8Array, rate: number): void {
  checkBaudRate(path, rate);
  // glibc ≥ 2.42 takes the plain rate; older glibc maps the standard rates itself.
  if (lib().cfsetspeed(termios, rate) !== 0) throw new SerialError("SERIAL_UNSUPPORTED_BAUD", `Baud rate ${rate} is not supported on ${path}`, { errno: errno(), path });
}

/**
 * Opens a tty without blocking (no wait for carrier), not as the controlling terminal, closed on exec.
 * With `lock`, takes an exclusive flock (which root honours too) and sets TIOCEXCL (which keeps out
 * programs that do not flock, except root's).
 */
export function openTty(path: string, lock: boolean): number {
  const c = lib();
  const fd = c.open(cString(path), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC, 0);
  if (fd < 0) throw openError(path, errno());
  try {
    getAttributes(fd, path); // a regular file or a directory fails here
    if (lock) {
      if (c.flock(fd, LOCK_EX | LOCK_NB) !== 0) throw busyError(path, errno());
      if (c.ioctl(fd, IOCTL.TIOCEXCL, null) !== 0) throw ioError(path, "TIOCEXCL", errno());
    }
  } catch (err) {
    c.close(fd);
    throw err;
  }
  return fd;
}

/** Lets other programs open the tty again (TIOCEXCL outlives our fd when another fd keeps the tty open). */
export function releaseExclusive(fd: number): void {
  lib().ioctl(fd, IOCTL.TIOCNXCL, null);
}

/** Raw mode with the given line settings, applied at once. */
export function configureTty(fd: number, path: string, settings: LineSettings): void {
  const termios = getAttributes(fd, path);
  lib().cfmakeraw(termios);
  setSpeed(path, termios, settings.baudRate);
  encodeLineSettings(new DataView(termios.buffer), layout(), settings);
  setAttributes(fd, path, termios);
  const applied = getBaudRate(fd, path);
  if (applied !== settings.baudRate) {
    throw new SerialError("SERIAL_UNSUPPORTED_BAUD", `${path} does not support ${settings.baudRate} baud (it set ${applied})`, { path });
  }
}

/** Changes the baud rate of an open tty, at once. */
export function setBaudRate(fd: number, path: string, rate: number): void {
  const termios = getAttributes(fd, path);
  setSpeed(path, termios, rate);
  setAttributes(fd, path, termios);
}

/** The output baud rate the kernel reports. */
export function getBaudRate(fd: number, path: string): number {
  return rateOfSpeed(lib().cfgetospeed(getAttributes(fd, path)));
}

function modemLinesError(path: string, e: number): SerialError {
  if (e === ERRNO.ENOTTY || e === ERRNO.EINVAL) {
    return new SerialError("SERIAL_MODEM_LINES_UNSUPPORTED", `${path} has no modem control lines (DTR, RTS, CTS, DSR, DCD): it is a pseudo-terminal or a UART without them (${errnoName(e)})`, {
      errno: e,
      path,
    });
  }
  return ioError(path, "TIOCMGET", e);
}

/** The TIOCM bits of the port's modem lines. */
export function getModemBits(fd: number, path: string): number {
  const bits = new Int32Array(1);
  if (lib().ioctl(fd, IOCTL.TIOCMGET, bits) !== 0) throw modemLinesError(path, errno());
  return bits[0]!;
}

/** Sets DTR and RTS as given and the break condition on or off. */
export function setModemLines(fd: number, path: string, lines: { dtr: boolean; rts: boolean; brk: boolean }): void {
  const bits = new Int32Array([getModemBits(fd, path)]);
  bits[0] = lines.dtr ? bits[0]! | TIOCM.DTR : bits[0]! & ~TIOCM.DTR;
  bits[0] = lines.rts ? bits[0]! | TIOCM.RTS : bits[0]! & ~TIOCM.RTS;
  const c = lib();
  if (c.ioctl(fd, IOCTL.TIOCMSET, bits) !== 0) throw modemLinesError(path, errno());
  if (c.ioctl(fd, lines.brk ? IOCTL.TIOCSBRK : IOCTL.TIOCCBRK, null) !== 0) throw ioError(path, "TIOCSBRK", errno());
}

/** Bytes written but not yet sent by the driver (0 on a pseudo-terminal). */
export function outputQueue(fd: number, path: string): number {
  const count = new Int32Array(1);
  if (lib().ioctl(fd, IOCTL.TIOCOUTQ, count) !== 0) throw ioError(path, "TIOCOUTQ", errno());
  return count[0]!;
}

/** Discards pending input, output or both (TCIFLUSH, TCOFLUSH, TCIOFLUSH). */
export function flushTty(fd: number, path: string, queue: number): void {
  if (lib().tcflush(fd, queue) !== 0) throw ioError(path, "tcflush", errno());
}
