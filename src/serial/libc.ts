/**
 * The few libc functions the serial layer calls, through bun:ffi. Loaded once per thread (the loop and
 * each reader Worker import this). Calls return what libc returns; `errno()` reads this thread's errno
 * right after a call that failed. Nothing here blocks unless the caller asks to (poll with a timeout).
 */
import { dlopen, type Pointer, read } from "bun:ffi";
import { SerialError } from "./errors.ts";

const LIBC = "libc.so.6";

const symbols = {
  open: { args: ["ptr", "i32", "i32"], returns: "i32" },
  close: { args: ["i32"], returns: "i32" },
  // read and write return ssize_t; counts here stay below 2^31, so the low 32 bits (an int) are the whole value.
  read: { args: ["i32", "ptr", "u64"], returns: "i32" },
  write: { args: ["i32", "ptr", "u64"], returns: "i32" },
  poll: { args: ["ptr", "u64", "i32"], returns: "i32" },
  pipe2: { args: ["ptr", "i32"], returns: "i32" },
  // ioctl and fcntl are variadic; on x86-64 and AArch64 (Linux ABI) a trailing int or pointer argument is passed exactly like a fixed one.
  ioctl: { args: ["i32", "u64", "ptr"], returns: "i32" },
  fcntl: { args: ["i32", "i32", "i32"], returns: "i32" },
  flock: { args: ["i32", "i32"], returns: "i32" },
  tcgetattr: { args: ["i32", "ptr"], returns: "i32" },
  tcsetattr: { args: ["i32", "i32", "ptr"], returns: "i32" },
  cfmakeraw: { args: ["ptr"], returns: "void" },
  cfsetspeed: { args: ["ptr", "u32"], returns: "i32" },
  cfgetospeed: { args: ["ptr"], returns: "u32" },
  tcflush: { args: ["i32", "i32"], returns: "i32" },
  tcdrain: { args: ["i32"], returns: "i32" },
  // Per thread on Linux (the rt_sigprocmask system call), and in libc.so.6 on every glibc, unlike pthread_sigmask.
  sigprocmask: { args: ["i32", "ptr", "ptr"], returns: "i32" },
  __errno_location: { args: [], returns: "ptr" },
} as const;

const openptySymbols = { openpty: { args: ["ptr", "ptr", "ptr", "ptr", "ptr"], returns: "i32" } } as const;

type Libc = ReturnType<typeof dlopen<typeof symbols>>["symbols"];
type Openpty = ReturnType<typeof dlopen<typeof openptySymbols>>["symbols"]["openpty"];

let libc: Libc | undefined;
let errnoPointer: Pointer | null = null;
let openptyFn: Openpty | undefined;

/** libc's functions, loaded on first use in this thread. */
export function lib(): Libc {
  if (libc === undefined) {
    if (process.platform !== "linux") {
      throw new SerialError("SERIAL_UNSUPPORTED_PLATFORM", `hearth's serial binding needs Linux with glibc; this is ${process.platform}`);
    }
    try {
      libc = dlopen(LIBC, symbols).symbols;
    } catch (cause) {
      throw new SerialError("SERIAL_UNSUPPORTED_PLATFORM", `Cannot load ${LIBC}: hearth's serial binding needs glibc`, { cause });
    }
    errnoPointer = libc.__errno_location() as Pointer | null; // per thread, fixed for the thread's life
  }
  return libc;
}

/** This thread's errno (read it right after the call that failed). */
export function errno(): number {
  if (errnoPointer === null) lib();
  return read.i32(errnoPointer as Pointer);
}

/**
 * openpty(3): in libc.so.6 since glibc 2.34, in libutil.so.1 before; whichever has it.
 */
export function openptyFunction(): Openpty {
  if (openptyFn === undefined) {
    lib();
    const errors: unknown[] = [];
    for (const name of [LIBC, "libutil.so.1"]) {
      try {
        openptyFn = dlopen(name, openptySymbols).symbols.openpty;
        break;
      } catch (err) {
        errors.push(err);
      }
    }
    if (openptyFn === undefined) {
      throw new SerialError("SERIAL_UNSUPPORTED_PLATFORM", "openpty is in neither libc.so.6 nor libutil.so.1", { cause: errors[0] });
    }
  }
  return openptyFn;
}

const encoder = new TextEncoder();

/** A NUL-terminated copy of `text` for a `const char *` argument. */
export function cString(text: string): Uint8Array {
  const bytes = new Uint8Array(Buffer.byteLength(text) + 1);
  encoder.encodeInto(text, bytes);
  return bytes;
}
