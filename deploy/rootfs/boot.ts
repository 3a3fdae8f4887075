/**
 * The Raspberry Pi boot partition (FAT: no owners or modes), touched only when asked: `--enable-uart`
 * turns the GPIO UART on (`enable_uart=1` in config.txt) and takes the serial login console off it
 * (`console=serial0,…` out of cmdline.txt), so a device wired to pins 8/10 can be /dev/serial0 for hearth.
 */
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FlashError } from "./errors.ts";

/** What would change on the boot partition: new text per file name, and a line per change. */
export interface BootPlan {
  readonly edits: ReadonlyMap<string, string>;
  readonly notes: readonly string[];
}

/** Whether a folder looks like a Raspberry Pi boot partition: config.txt with the firmware or cmdline.txt beside it. */
export function isPiBoot(dir: string): boolean {
  if (!existsSync(join(dir, "config.txt"))) return false;
  const names = readdirSync(dir);
  return names.includes("cmdline.txt") || names.includes("bootcode.bin") || names.some((n) => /^start\w*\.elf$/.test(n) || /^bcm27\d\d.*\.dtb$/.test(n));
}

const SERIAL_CONSOLE = /^console=(serial0|serial1|ttyAMA0|ttyS0),/;

/** Plans the boot partition's changes (none unless `enableUart`); refuses a folder that is not a Pi's boot partition. */
export function planBoot(dir: string, options: { enableUart: boolean }): BootPlan {
  if (!isPiBoot(dir)) {
    if (options.enableUart) throw new FlashError("NOT_A_PI_BOOT", `${dir} does not look like a Raspberry Pi boot partition (no config.txt with cmdline.txt or the firmware): --enable-uart needs one`);
    return { edits: new Map(), notes: [`${dir} does not look like a Raspberry Pi boot partition: left alone`] };
  }
  if (!options.enableUart) return { edits: new Map(), notes: [`${dir}: Raspberry Pi boot partition, left alone (--enable-uart turns on the GPIO UART for a device)`] };
  const edits = new Map<string, string>();
  const notes: string[] = [];
  const config = readFileSync(join(dir, "config.txt"), "utf8");
  if (/^\s*enable_uart\s*=\s*1\s*$/m.test(config)) notes.push("config.txt: enable_uart=1 already");
  else {
    // Under [all] at the end, so no earlier [pi4]-style section limits it.
    edits.set("config.txt", `${config}${config.endsWith("\n") || config === "" ? "" : "\n"}\n# Added by hearth's deploy/flash: the GPIO UART for a serial device\n[all]\nenable_uart=1\n`);
    notes.push("config.txt: enable_uart=1 added");
  }
  const cmdlinePath = join(dir, "cmdline.txt");
  if (existsSync(cmdlinePath)) {
    const cmdline = readFileSync(cmdlinePath, "utf8");
    const words = cmdline.trim().split(/\s+/);
    const kept = words.filter((w) => !SERIAL_CONSOLE.test(w));
    if (kept.length !== words.length) {
      edits.set("cmdline.txt", `${kept.join(" ")}\n`);
      notes.push(`cmdline.txt: serial login console removed (${words.filter((w) => SERIAL_CONSOLE.test(w)).join(" ")})`);
    } else notes.push("cmdline.txt: no serial console on the UART already");
  }
  return { edits, notes };
}

/** Writes the planned files (each through a temporary file renamed over it); returns their paths. */
export function applyBoot(dir: string, plan: BootPlan): string[] {
  const written: string[] = [];
  for (const [name, text] of plan.edits) {
    const path = join(dir, name);
    writeFileSync(`${path}.flash-tmp`, text);
    renameSync(`${path}.flash-tmp`, path);
    written.push(path);
  }
  return written;
}
