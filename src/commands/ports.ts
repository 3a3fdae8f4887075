import { type ListRoots, listPorts } from "../serial/list.ts";
import type { Output } from "./output.ts";

/** `hearth ports`: the serial ports present, with the stable path to put in hearth.yaml. */
export async function portsCommand(output: Output, options: { json?: boolean; roots?: ListRoots } = {}): Promise<number> {
  const ports = await listPorts(options.roots);
  if (options.json) {
    output.out(`${JSON.stringify(ports, null, 2)}\n`);
    return 0;
  }
  if (ports.length === 0) {
    output.out("No serial ports found. Plug the device in, then check `dmesg | tail` for the tty the kernel gave it.\n");
    return 0;
  }
  const lines: string[] = [];
  for (const p of ports) {
    const parts = [p.path];
    if (p.vendorId !== undefined) parts.push(`${p.vendorId}:${p.productId ?? "????"}`);
    const name = [p.manufacturer, p.product].filter((s) => s !== undefined).join(" ");
    if (name) parts.push(name);
    if (p.serialNumber !== undefined) parts.push(`serial ${p.serialNumber}`);
    if (p.driver !== undefined) parts.push(`(${p.driver})`);
    lines.push(parts.join("  "));
    if (p.byId !== undefined) lines.push(`  port: ${p.byId}`);
  }
  if (ports.some((p) => p.byId !== undefined)) {
    lines.push("", "Use the by-id path as a device's `port` in hearth.yaml: it stays the same across reboots and replugging.");
  }
  output.out(`${lines.join("\n")}\n`);
  return 0;
}
