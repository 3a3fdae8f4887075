import type { BindingInterface, OpenOptions } from "@serialport/bindings-interface";
import { SerialError } from "./errors.ts";
import { lib } from "./libc.ts";
import { listPorts, type SerialPortInfo } from "./list.ts";
import { BunPort, type PortOptions } from "./port.ts";
import { type ReaderPool, sharedReaderPool } from "./reader-pool.ts";
import { DATA_BITS, PARITIES } from "./settings.ts";
import type { LineSettings } from "./termios.ts";
import { checkBaudRate, configureTty, openTty } from "./tty.ts";

export interface BunBindingOptions {
  /** Reader Workers to use (default: the process's shared pool). */
  readers?: ReaderPool;
}

const PARITY_NAMES: ReadonlySet<string> = new Set(PARITIES);

/** Fills in @serialport's defaults and rejects what Linux termios cannot do. */
export function normalizeOpenOptions(options: OpenOptions): PortOptions {
  const path = options?.path;
  if (typeof path !== "string" || path.length === 0) {
    throw new SerialError("SERIAL_INVALID_OPTIONS", "open: path must be a non-empty string");
  }
  const invalid = (what: string) => new SerialError("SERIAL_INVALID_OPTIONS", `open ${path}: ${what}`, { path });
  if (typeof options.baudRate !== "number" || !Number.isInteger(options.baudRate) || options.baudRate <= 0) {
    throw invalid(`baudRate must be a positive integer, got ${String(options.baudRate)}`);
  }
  checkBaudRate(path, options.baudRate);
  const dataBits = options.dataBits ?? 8;
  if (!(DATA_BITS as readonly number[]).includes(dataBits)) throw invalid(`dataBits must be 5, 6, 7 or 8, got ${dataBits}`);
  const stopBits = options.stopBits ?? 1;
  if (stopBits !== 1 && stopBits !== 2) throw invalid(`stopBits must be 1 or 2 on Linux, got ${stopBits}`);
  const parity = options.parity ?? "none";
  if (!PARITY_NAMES.has(parity)) throw invalid(`parity must be none, even, odd, mark or space, got ${parity}`);
  return {
    path,
    baudRate: options.baudRate,
    dataBits,
    stopBits,
    parity,
    lock: options.lock ?? true,
    rtscts: options.rtscts ?? false,
    xon: options.xon ?? false,
    xoff: options.xoff ?? false,
    xany: options.xany ?? false,
    hupcl: options.hupcl ?? true,
  };
}

/**
 * @serialport's BindingInterface for Bun on Linux: termios through bun:ffi, reads on shared reader
 * Workers. Hand it to `new SerialPortStream({ binding: new BunBinding(), path, baudRate })`.
 */
export class BunBinding implements BindingInterface<BunPort, OpenOptions, SerialPortInfo> {
  private readonly readers: ReaderPool;

  constructor(options: BunBindingOptions = {}) {
    this.readers = options.readers ?? sharedReaderPool;
  }

  list(): Promise<SerialPortInfo[]> {
    return listPorts();
  }

  async open(options: OpenOptions): Promise<BunPort> {
    const settings = normalizeOpenOptions(options);
    const fd = openTty(settings.path, settings.lock);
    const port = new BunPort(fd, settings, this.readers);
    try {
      configureTty(fd, settings.path, settings as LineSettings);
      port.start();
    } catch (err) {
      lib().close(fd);
      throw err;
    }
    return port;
  }
}
