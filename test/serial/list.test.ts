import { afterEach, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { portsCommand } from "../../src/commands/ports.ts";
import { listPorts } from "../../src/serial/list.ts";

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function link(target: string, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await symlink(relative(dirname(path), target), path);
}

async function file(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${text}\n`);
}

/**
 * No USB serial adapter is plugged into the test machine, so these tests lay out the sysfs and /dev
 * entries the kernel and udev make for one (copied from a Raspberry Pi with an FTDI cable, a CDC ACM
 * board and its on-board UART) in a temporary folder and point list() at it.
 */
async function machine(): Promise<{ sys: string; dev: string }> {
  const root = await mkdtemp(join(tmpdir(), "hearth-list-"));
  dirs.push(root);
  const sys = join(root, "sys");
  const dev = join(root, "dev");
  // FTDI adapter: ttyUSB0 under interface 1-1.3:1.0 of USB device 1-1.3.
  const ftdi = join(sys, "devices/platform/scb/fd500000.pcie/pci0000:00/0000:00:00.0/0000:01:00.0/usb1/1-1/1-1.3");
  await file(join(ftdi, "idVendor"), "0403");
  await file(join(ftdi, "idProduct"), "6001");
  await file(join(ftdi, "serial"), "A50285BI");
  await file(join(ftdi, "manufacturer"), "FTDI");
  await file(join(ftdi, "product"), "FT232R USB UART");
  const ftdiTty = join(ftdi, "1-1.3:1.0/ttyUSB0");
  await mkdir(join(ftdiTty, "tty/ttyUSB0"), { recursive: true });
  await mkdir(join(sys, "bus/usb-serial/drivers/ftdi_sio"), { recursive: true });
  await link(join(sys, "bus/usb-serial/drivers/ftdi_sio"), join(ftdiTty, "driver"));
  await link(join(ftdiTty, "tty/ttyUSB0"), join(sys, "class/tty/ttyUSB0"));
  await link(ftdiTty, join(ftdiTty, "tty/ttyUSB0/device"));
  // CDC ACM board: ttyACM0 under interface 1-1.4:1.0, no serial number.
  const acm = join(sys, "devices/platform/scb/fd500000.pcie/pci0000:00/0000:00:00.0/0000:01:00.0/usb1/1-1/1-1.4");
  await file(join(acm, "idVendor"), "2341");
  await file(join(acm, "idProduct"), "0043");
  await file(join(acm, "manufacturer"), "Arduino (www.arduino.cc)");
  const acmIf = join(acm, "1-1.4:1.0");
  await mkdir(join(acmIf, "tty/ttyACM0"), { recursive: true });
  await link(join(acmIf, "tty/ttyACM0"), join(sys, "class/tty/ttyACM0"));
  await link(acmIf, join(acmIf, "tty/ttyACM0/device"));
  // On-board UART (PL011), present; since Linux 6.3 its tty hangs off the serial core's port and ctrl devices.
  const amba = join(sys, "devices/platform/soc/fe201000.serial");
  const uartPort = join(amba, "serial0/serial0.0");
  await mkdir(join(uartPort, "tty/ttyAMA0"), { recursive: true });
  await file(join(uartPort, "tty/ttyAMA0/type"), "83");
  for (const [dir, driver] of [
    [uartPort, "serial-base/drivers/port"],
    [join(amba, "serial0"), "serial-base/drivers/ctrl"],
    [amba, "amba/drivers/uart-pl011"],
  ] as const) {
    await mkdir(join(sys, "bus", driver), { recursive: true });
    await link(join(sys, "bus", driver), join(dir, "driver"));
  }
  await link(join(uartPort, "tty/ttyAMA0"), join(sys, "class/tty/ttyAMA0"));
  await link(uartPort, join(uartPort, "tty/ttyAMA0/device"));
  const legacy = join(sys, "devices/platform/serial8250");
  await mkdir(join(legacy, "tty/ttyS3"), { recursive: true });
  await file(join(legacy, "tty/ttyS3/type"), "0");
  await link(join(legacy, "tty/ttyS3"), join(sys, "class/tty/ttyS3"));
  await link(legacy, join(legacy, "tty/ttyS3/device"));
  // A virtual console: no device behind it.
  await mkdir(join(sys, "devices/virtual/tty/tty1"), { recursive: true });
  await link(join(sys, "devices/virtual/tty/tty1"), join(sys, "class/tty/tty1"));
  // /dev entries and udev's links.
  for (const name of ["ttyUSB0", "ttyACM0", "ttyAMA0", "ttyS3", "tty1"]) await file(join(dev, name), "");
  await link(join(dev, "ttyUSB0"), join(dev, "serial/by-id/usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0"));
  await link(join(dev, "ttyACM0"), join(dev, "serial/by-id/usb-Arduino__www.arduino.cc__0043_75833353035351F0D0A1-if00"));
  await link(join(dev, "ttyUSB0"), join(dev, "serial/by-path/platform-fd500000.pcie-pci-0000:01:00.0-usb-0:1.3:1.0-port0"));
  return { sys, dev };
}

describe("listing ports", () => {
  test("USB adapters come with vendor, product, serial number, manufacturer and their by-id path", async () => {
    const roots = await machine();
    const ports = await listPorts(roots);
    expect(ports.map((p) => p.path)).toEqual([join(roots.dev, "ttyACM0"), join(roots.dev, "ttyAMA0"), join(roots.dev, "ttyUSB0")]);
    const ftdi = ports.find((p) => p.path.endsWith("ttyUSB0"))!;
    expect(ftdi).toMatchObject({
      vendorId: "0403",
      productId: "6001",
      serialNumber: "A50285BI",
      manufacturer: "FTDI",
      product: "FT232R USB UART",
      driver: "ftdi_sio",
      byId: join(roots.dev, "serial/by-id/usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0"),
      pnpId: "usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0",
      locationId: "platform-fd500000.pcie-pci-0000:01:00.0-usb-0:1.3:1.0-port0",
    });
    const acm = ports.find((p) => p.path.endsWith("ttyACM0"))!;
    expect(acm).toMatchObject({ vendorId: "2341", productId: "0043", serialNumber: undefined, manufacturer: "Arduino (www.arduino.cc)" });
  });

  test("an on-board UART is listed without USB details, and absent legacy ports and consoles are not", async () => {
    const roots = await machine();
    const ports = await listPorts(roots);
    const uart = ports.find((p) => p.path.endsWith("ttyAMA0"))!;
    expect(uart).toMatchObject({ vendorId: undefined, productId: undefined, byId: undefined, driver: "uart-pl011" });
    expect(ports.some((p) => p.path.endsWith("ttyS3") || p.path.endsWith("tty1"))).toBe(false);
  });

  test("on this machine list() answers without failing, with only paths that exist", async () => {
    const ports = await listPorts();
    for (const p of ports) expect((await stat(p.path)).isCharacterDevice()).toBe(true);
  });

  test("hearth ports prints each port with the path to use, or says none was found", async () => {
    const roots = await machine();
    let out = "";
    const output = { out: (t: string) => void (out += t), err: (t: string) => void (out += t) };
    expect(await portsCommand(output, { roots })).toBe(0);
    expect(out).toContain("usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0");
    expect(out).toContain("0403:6001");
    expect(out).toContain("FTDI FT232R USB UART");
    expect(out).toContain("serial A50285BI");
    out = "";
    expect(await portsCommand(output, { roots, json: true })).toBe(0);
    expect(JSON.parse(out)).toHaveLength(3);
    out = "";
    expect(await portsCommand(output, { roots: { sys: join(roots.sys, "nothing"), dev: roots.dev } })).toBe(0);
    expect(out).toContain("No serial ports found");
  });
});
