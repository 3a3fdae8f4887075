/**
 * The datagram socket to systemd's `$NOTIFY_SOCKET`, through bun:ffi. Bun has no AF_UNIX datagram socket
 * (Bun.udpSocket and node:dgram are UDP only; Bun.connect's `unix` is a stream), so this calls libc's
 * socket(2) and sendto(2) directly. The socket is non-blocking and every send uses MSG_DONTWAIT: a full
 * or missing receiver makes a send fail at once, it never waits.
 */
import { dlopen, ptr, read } from "bun:ffi";
import { constants, endianness } from "node:os";
import { HearthError } from "./errors.ts";

// Linux's values, the same on x86_64 and aarch64 (both use the generic socket ABI).
const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
/** struct sockaddr_un { sa_family_t sun_family; char sun_path[108]; }: 2 + 108 bytes on both targets. */
const SUN_PATH_OFFSET = 2;
const SUN_PATH_SIZE = 108;

const symbols = {
  socket: { args: ["i32", "i32", "i32"], returns: "i32" },
  // sendto returns ssize_t; a notification is far below 2^31 bytes, so the low 32 bits (an int) are the whole value.
  sendto: { args: ["i32", "ptr", "u64", "i32", "ptr", "u32"], returns: "i32" },
  close: { args: ["i32"], returns: "i32" },
  __errno_location: { args: [], returns: "ptr" },
} as const;

type Libc = ReturnType<typeof dlopen<typeof symbols>>["symbols"];
let libc: Libc | undefined;

function lib(): Libc {
  libc ??= dlopen("libc.so.6", symbols).symbols;
  return libc;
}

function lastError(): string {
  const location = lib().__errno_location();
  const code = location === null ? 0 : read.i32(location);
  const name = Object.entries(constants.errno).find(([, value]) => value === code)?.[0];
  return name ?? `errno ${code}`;
}

/** Where notifications go: one datagram per message, never blocking. */
export interface NotifyTransport {
  /** Sends one datagram; throws a HearthError (code SYSTEMD_NOTIFY_FAILED) when the kernel refuses it. */
  send(message: string): void;
  close(): void;
}

/**
 * The `struct sockaddr_un` for a `$NOTIFY_SOCKET` value, cut to the length to pass: an absolute path
 * (NUL-terminated), or `@name` for a name in Linux's abstract namespace (a leading NUL, no terminator).
 */
export function notifySocketAddress(value: string): Uint8Array {
  const abstract = value.startsWith("@");
  if (!abstract && !value.startsWith("/")) {
    throw new HearthError("SYSTEMD_NOTIFY_FAILED", `NOTIFY_SOCKET must be an absolute path or an @abstract name, not ${JSON.stringify(value)}`);
  }
  const name = Buffer.from(abstract ? value.slice(1) : value);
  const pathLength = abstract ? 1 + name.length : name.length + 1;
  if (pathLength > SUN_PATH_SIZE) {
    throw new HearthError("SYSTEMD_NOTIFY_FAILED", `NOTIFY_SOCKET is longer than a unix socket address allows (${SUN_PATH_SIZE - 1} bytes): ${value}`);
  }
  const address = new Uint8Array(SUN_PATH_OFFSET + pathLength); // zero-filled: the abstract lead and the terminator
  new DataView(address.buffer).setUint16(0, AF_UNIX, endianness() === "LE");
  address.set(name, SUN_PATH_OFFSET + (abstract ? 1 : 0));
  return address;
}

/** Opens a datagram socket that sends to `$NOTIFY_SOCKET`'s address; throws a HearthError if it cannot. */
export function openNotifySocket(value: string): NotifyTransport {
  const address = notifySocketAddress(value);
  if (process.platform !== "linux") throw new HearthError("SYSTEMD_NOTIFY_FAILED", `sd_notify needs Linux; this is ${process.platform}`);
  let fd: number;
  try {
    fd = lib().socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  } catch (cause) {
    throw new HearthError("SYSTEMD_NOTIFY_FAILED", "Cannot load libc.so.6 for sd_notify", { cause });
  }
  if (fd < 0) throw new HearthError("SYSTEMD_NOTIFY_FAILED", `socket(AF_UNIX, SOCK_DGRAM) failed: ${lastError()}`);
  return {
    send(message) {
      if (fd < 0) throw new HearthError("SYSTEMD_NOTIFY_FAILED", "the notify socket is closed");
      const bytes = Buffer.from(message);
      const sent = lib().sendto(fd, ptr(bytes), bytes.length, MSG_DONTWAIT | MSG_NOSIGNAL, ptr(address), address.length);
      if (sent < 0) throw new HearthError("SYSTEMD_NOTIFY_FAILED", `sendto ${value} failed: ${lastError()}`);
    },
    close() {
      if (fd >= 0) lib().close(fd);
      fd = -1;
    },
  };
}
