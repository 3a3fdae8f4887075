/**
 * The Linux constants and the glibc `struct termios` layout hearth's serial code relies on, in one
 * place. Bun runs on linux x64 and arm64 only; both use the kernel's asm-generic values and the same
 * glibc struct, checked on this kind of machine (test/serial/termios.test.ts holds the facts).
 * Nothing here touches the system: the Worker and the loop both import it.
 */

import type { Parity, SerialSettings } from "./settings.ts";

/** Offsets and size of glibc's `struct termios` on one architecture. */
export interface TermiosLayout {
  readonly size: number;
  readonly iflag: number;
  readonly oflag: number;
  readonly cflag: number;
  readonly lflag: number;
  readonly line: number;
  readonly cc: number;
  readonly nccs: number;
  readonly ispeed: number;
  readonly ospeed: number;
}

const GLIBC_GENERIC: TermiosLayout = Object.freeze({
  size: 60,
  iflag: 0,
  oflag: 4,
  cflag: 8,
  lflag: 12,
  line: 16,
  cc: 17,
  nccs: 32,
  ispeed: 52,
  ospeed: 56,
});

/** The layouts hearth knows, by `process.arch`. */
export const TERMIOS_LAYOUTS: Readonly<Record<string, TermiosLayout>> = Object.freeze({
  x64: GLIBC_GENERIC,
  arm64: GLIBC_GENERIC,
});

/** The layout for an architecture (this process's by default); undefined where hearth has not checked it. */
export function termiosLayout(arch: string = process.arch): TermiosLayout | undefined {
  return TERMIOS_LAYOUTS[arch];
}

/** c_iflag bits. */
export const IFLAG = Object.freeze({
  IGNBRK: 0o1,
  BRKINT: 0o2,
  IGNPAR: 0o4,
  PARMRK: 0o10,
  INPCK: 0o20,
  ISTRIP: 0o40,
  INLCR: 0o100,
  IGNCR: 0o200,
  ICRNL: 0o400,
  IXON: 0o2000,
  IXANY: 0o4000,
  IXOFF: 0o10000,
});

/** c_oflag bits. */
export const OFLAG = Object.freeze({ OPOST: 0o1 });

/** c_cflag bits. CRTSCTS is the sign bit, so read c_cflag as unsigned. */
export const CFLAG = Object.freeze({
  CBAUD: 0o10017,
  CSIZE: 0o60,
  CS5: 0o0,
  CS6: 0o20,
  CS7: 0o40,
  CS8: 0o60,
  CSTOPB: 0o100,
  CREAD: 0o200,
  PARENB: 0o400,
  PARODD: 0o1000,
  HUPCL: 0o2000,
  CLOCAL: 0o4000,
  CMSPAR: 0o10000000000,
  CRTSCTS: 0x80000000,
});

/** c_lflag bits. */
export const LFLAG = Object.freeze({ ISIG: 0o1, ICANON: 0o2, ECHO: 0o10, ECHONL: 0o100, IEXTEN: 0o100000 });

/** Indices into c_cc. */
export const CC = Object.freeze({ VTIME: 5, VMIN: 6 });

/** ioctl requests (asm-generic/ioctls.h; the same on x64 and arm64). */
export const IOCTL = Object.freeze({
  TCGETS: 0x5401,
  TIOCEXCL: 0x540c,
  TIOCNXCL: 0x540d,
  TIOCOUTQ: 0x5411,
  TIOCMGET: 0x5415,
  TIOCMBIS: 0x5416,
  TIOCMBIC: 0x5417,
  TIOCMSET: 0x5418,
  FIONREAD: 0x541b,
  TIOCSBRK: 0x5427,
  TIOCCBRK: 0x5428,
});

/** Modem-line bits of TIOCMGET/TIOCMSET. */
export const TIOCM = Object.freeze({ DTR: 0x002, RTS: 0x004, CTS: 0x020, CAR: 0x040, RNG: 0x080, DSR: 0x100 });

/** tcsetattr's `optional_actions` and tcflush's `queue_selector`. */
export const TCSANOW = 0;
export const TCIFLUSH = 0;
export const TCOFLUSH = 1;
export const TCIOFLUSH = 2;

/** open(2) flags (asm-generic/fcntl.h: the same on x64 and arm64 for these four). */
export const O_RDWR = 0o2;
export const O_NOCTTY = 0o400;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;

/** fcntl(2) commands and flags. */
export const F_SETFD = 2;
export const F_GETFL = 3;
export const F_SETFL = 4;
export const FD_CLOEXEC = 1;

/** flock(2) operations. */
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

/** sigprocmask's `how` to add signals to the mask, and glibc's sigset_t size (1024 bits). */
export const SIG_BLOCK = 0;
export const SIGSET_SIZE = 128;
/** SIGHUP, SIGINT, SIGQUIT, SIGTERM: the signals hearth's loop handles. */
export const SHUTDOWN_SIGNALS = [1, 2, 3, 15] as const;

/** poll(2) events; `struct pollfd` is { int fd; short events; short revents; }: 8 bytes. */
export const POLL = Object.freeze({ IN: 0x1, PRI: 0x2, OUT: 0x4, ERR: 0x8, HUP: 0x10, NVAL: 0x20 });
export const POLLFD_SIZE = 8;

/** errno values hearth branches on. */
export const ERRNO = Object.freeze({
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  EBADF: 9,
  EAGAIN: 11,
  EACCES: 13,
  EBUSY: 16,
  ENODEV: 19,
  EINVAL: 22,
  ENOTTY: 25,
  EROFS: 30,
  ELOOP: 40,
  ENOTDIR: 20,
  EISDIR: 21,
});

/**
 * The rates Linux names with a B constant, each with that constant (what cfgetospeed returns on glibc
 * before 2.42; from 2.42 it returns the rate itself). Other rates need BOTHER/termios2: not supported.
 */
export const BAUD_CONSTANTS: ReadonlyMap<number, number> = new Map([
  [50, 0o1],
  [75, 0o2],
  [110, 0o3],
  [134, 0o4],
  [150, 0o5],
  [200, 0o6],
  [300, 0o7],
  [600, 0o10],
  [1200, 0o11],
  [1800, 0o12],
  [2400, 0o13],
  [4800, 0o14],
  [9600, 0o15],
  [19200, 0o16],
  [38400, 0o17],
  [57600, 0o10001],
  [115200, 0o10002],
  [230400, 0o10003],
  [460800, 0o10004],
  [500000, 0o10005],
  [576000, 0o10006],
  [921600, 0o10007],
  [1000000, 0o10010],
  [1152000, 0o10011],
  [1500000, 0o10012],
  [2000000, 0o10013],
  [2500000, 0o10014],
  [3000000, 0o10015],
  [3500000, 0o10016],
  [4000000, 0o10017],
]);

const RATE_OF_CONSTANT = new Map([...BAUD_CONSTANTS].map(([rate, constant]) => [constant, rate]));

/** Whether Linux names `rate` with a B constant. */
export function isStandardBaudRate(rate: number): boolean {
  return BAUD_CONSTANTS.has(rate);
}

/** The baud rate a speed_t from cfgetospeed stands for, whichever glibc returned it. */
export function rateOfSpeed(speed: number): number {
  return RATE_OF_CONSTANT.get(speed) ?? speed;
}

/** The serial settings termios encodes. */
export interface LineSettings {
  baudRate: number;
  dataBits: SerialSettings["data_bits"];
  parity: Parity;
  stopBits: SerialSettings["stop_bits"];
  rtscts: boolean;
  xon: boolean;
  xoff: boolean;
  xany: boolean;
  hupcl: boolean;
}

const CS_BITS = { 5: CFLAG.CS5, 6: CFLAG.CS6, 7: CFLAG.CS7, 8: CFLAG.CS8 } as const;

/**
 * Sets data bits, parity, stop bits, flow control and HUPCL in a termios already made raw (cfmakeraw)
 * and given its speed; reads must return whatever has arrived (VMIN 1, VTIME 0 behind poll).
 */
export function encodeLineSettings(view: DataView, layout: TermiosLayout, s: Omit<LineSettings, "baudRate">): void {
  let cflag = view.getUint32(layout.cflag, true);
  cflag &= ~(CFLAG.CSIZE | CFLAG.CSTOPB | CFLAG.PARENB | CFLAG.PARODD | CFLAG.CMSPAR | CFLAG.CRTSCTS | CFLAG.HUPCL);
  cflag |= CS_BITS[s.dataBits] | CFLAG.CREAD | CFLAG.CLOCAL;
  if (s.stopBits === 2) cflag |= CFLAG.CSTOPB;
  if (s.parity !== "none") cflag |= CFLAG.PARENB;
  if (s.parity === "odd" || s.parity === "mark") cflag |= CFLAG.PARODD;
  if (s.parity === "mark" || s.parity === "space") cflag |= CFLAG.CMSPAR;
  if (s.rtscts) cflag |= CFLAG.CRTSCTS;
  if (s.hupcl) cflag |= CFLAG.HUPCL;
  view.setUint32(layout.cflag, cflag >>> 0, true);

  let iflag = view.getUint32(layout.iflag, true);
  iflag &= ~(IFLAG.IXON | IFLAG.IXOFF | IFLAG.IXANY | IFLAG.INPCK);
  if (s.xon) iflag |= IFLAG.IXON;
  if (s.xoff) iflag |= IFLAG.IXOFF;
  if (s.xany) iflag |= IFLAG.IXANY;
  if (s.parity !== "none") iflag |= IFLAG.INPCK;
  view.setUint32(layout.iflag, iflag >>> 0, true);

  view.setUint8(layout.cc + CC.VMIN, 1);
  view.setUint8(layout.cc + CC.VTIME, 0);
}
