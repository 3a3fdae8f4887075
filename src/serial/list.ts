import { readdir, readFile, readlink, realpath } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import type { PortInfo } from "@serialport/bindings-interface";

/** A port as `list()` reports it: @serialport's PortInfo, plus the stable paths udev made for it. */
export interface SerialPortInfo extends PortInfo {
  /** `/dev/serial/by-id/usb-…`: stable across reboots and replugging; what to put in hearth.yaml. */
  byId: string | undefined;
  /** `/dev/serial/by-path/…`: stable for a given USB socket. */
  byPath: string | undefined;
  /** The kernel driver (ftdi_sio, cp210x, cdc_acm, pl2303, ch341-uart, uart-pl011, …). */
  driver: string | undefined;
  /** The product string the USB device reports. */
  product: string | undefined;
}

/** Where to look; tests point these at a tree they build. */
export interface ListRoots {
  sys?: string;
  dev?: string;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    const text = (await readFile(path, "utf8")).trim();
    return text.length > 0 ? text : undefined;
  } catch {
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await realpath(path);
    return true;
  } catch {
    return false;
  }
}

/** Maps each tty name (ttyUSB0) to the links udev made for it in one /dev/serial folder. */
async function udevLinks(folder: string): Promise<Map<string, string>> {
  const links = new Map<string, string>();
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return links;
  }
  for (const name of names.sort()) {
    try {
      const target = await readlink(join(folder, name));
      links.set(basename(resolve(folder, target)), join(folder, name));
    } catch {
      // not a link, or gone meanwhile
    }
  }
  return links;
}

/** The USB device's attributes, found by walking up from the tty's device to the folder that has idVendor. */
async function usbAttributes(deviceDir: string, sysRoot: string): Promise<Record<string, string | undefined>> {
  const stop = join(sysRoot, "devices");
  for (let dir = deviceDir; dir.startsWith(stop) && dir !== stop; dir = dirname(dir)) {
    const vendorId = await readText(join(dir, "idVendor"));
    if (vendorId === undefined) continue;
    return {
      vendorId,
      productId: await readText(join(dir, "idProduct")),
      serialNumber: await readText(join(dir, "serial")),
      manufacturer: await readText(join(dir, "manufacturer")),
      product: await readText(join(dir, "product")),
    };
  }
  return {};
}

/**
 * The driver behind a tty's device. Since Linux 6.3 a UART's tty hangs off the serial core's own
 * "port" and "ctrl" devices (bus serial-base); the driver worth naming (serial8250, uart-pl011) is above them.
 */
async function driverOf(deviceDir: string): Promise<string | undefined> {
  for (let dir = deviceDir, i = 0; i < 4; dir = dirname(dir), i++) {
    let driver: string;
    try {
      driver = await realpath(join(dir, "driver"));
    } catch {
      return undefined;
    }
    if (!driver.includes("/bus/serial-base/")) return basename(driver);
  }
  return undefined;
}

/** Describes one entry of /sys/class/tty, or undefined when it is not a serial port that is there. */
async function describe(name: string, roots: Required<ListRoots>, byId: Map<string, string>, byPath: Map<string, string>): Promise<SerialPortInfo | undefined> {
  const entry = join(roots.sys, "class", "tty", name);
  let deviceDir: string;
  try {
    deviceDir = await realpath(join(entry, "device"));
  } catch {
    return undefined; // virtual consoles, ptys: no device behind them
  }
  // serial8250 registers ttyS0…ttyS31 whether or not a UART is there; an absent one has type 0 (PORT_UNKNOWN).
  const type = await readText(join(entry, "type"));
  if (type === "0") return undefined;
  const path = join(roots.dev, name);
  if (!(await exists(path))) return undefined;
  const driver = await driverOf(deviceDir);
  const usb = await usbAttributes(deviceDir, roots.sys);
  const id = byId.get(name);
  const location = byPath.get(name);
  return {
    path,
    manufacturer: usb.manufacturer,
    serialNumber: usb.serialNumber,
    pnpId: id === undefined ? undefined : basename(id),
    locationId: location === undefined ? undefined : basename(location),
    productId: usb.productId,
    vendorId: usb.vendorId,
    byId: id,
    byPath: location,
    driver,
    product: usb.product,
  };
}

/**
 * The serial ports present: every tty in sysfs with a device behind it (USB adapters, on-board UARTs,
 * CDC ACM boards), with vendor and product ids, serial number and manufacturer where the kernel has
 * them, and the /dev/serial/by-id path udev made. Sorted by path; reads only, and never blocks the loop.
 */
export async function listPorts(roots: ListRoots = {}): Promise<SerialPortInfo[]> {
  const r = { sys: roots.sys ?? "/sys", dev: roots.dev ?? "/dev" };
  const [byId, byPath] = await Promise.all([udevLinks(join(r.dev, "serial", "by-id")), udevLinks(join(r.dev, "serial", "by-path"))]);
  let names: string[];
  try {
    names = await readdir(join(r.sys, "class", "tty"));
  } catch {
    return [];
  }
  const found = await Promise.all(names.map((name) => describe(name, r, byId, byPath)));
  return found.filter((p): p is SerialPortInfo => p !== undefined).sort((a, b) => a.path.localeCompare(b.path, "en", { numeric: true }));
}
