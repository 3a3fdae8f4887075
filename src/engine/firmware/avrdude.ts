/**
 * Runs Debian's avrdude on a device's port: writes an image (verified by avrdude reading it back) or
 * reads the flash out. A child process, so the loop goes on while it works; bounded by a timeout and by
 * the caller's signal, and killed when either fires.
 */
import type { FirmwareUpdateSpec } from "../../config/device-definition.ts";
import { HearthError } from "../../core/errors.ts";

export interface AvrdudeRun {
  /** What avrdude printed (it reports on stderr), for the log. */
  readonly output: string;
  readonly ms: number;
}

export interface AvrdudeOptions {
  /** The avrdude to run (default: `avrdude` on the PATH). */
  command?: string;
  signal?: AbortSignal;
}

/** The arguments of one run: part, programmer, port and baud rate, no chip erase (a bootloader cannot), one memory operation. */
export function avrdudeArgs(spec: FirmwareUpdateSpec, port: string, baud: number, operation: "w" | "r", file: string): string[] {
  // -D: Optiboot erases each page as it writes it and cannot erase the chip; `:i`: Intel HEX, either way.
  return ["-p", spec.part, "-c", spec.programmer, "-P", port, "-b", String(baud), "-D", "-U", `flash:${operation}:${file}:i`];
}

/** Runs avrdude with `args`; throws FIRMWARE_TOOL_FAILED naming what avrdude said went wrong. */
export async function runAvrdude(args: string[], timeoutS: number, options: AvrdudeOptions = {}): Promise<AvrdudeRun> {
  const command = options.command ?? "avrdude";
  const started = performance.now();
  const timeout = AbortSignal.timeout(timeoutS * 1000);
  const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]);
  let child: ReturnType<typeof Bun.spawn<"ignore", "pipe", "pipe">>;
  try {
    child = Bun.spawn([command, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe", signal, killSignal: "SIGKILL" });
  } catch (err) {
    throw new HearthError("FIRMWARE_TOOL_MISSING", `cannot run ${command}: ${(err as Error).message} (on Debian: apt-get install avrdude)`, { cause: err });
  }
  const [code, stdout, stderr] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()]);
  const output = `${stdout}${stderr}`.trim();
  const ms = Math.round(performance.now() - started);
  if (code === 0) return { output, ms };
  const why = timeout.aborted ? `did not finish within ${timeoutS} s` : options.signal?.aborted ? "was stopped" : `failed (exit ${code})`;
  throw new HearthError("FIRMWARE_TOOL_FAILED", `avrdude ${why}: ${avrdudeProblem(output)}`);
}

/** The lines of avrdude's output that say what went wrong (its errors, not its progress bars), clipped. */
export function avrdudeProblem(output: string): string {
  const lines = output
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !/^(Reading|Writing) \|/.test(l) && !/^#+$/.test(l));
  const errors = lines.filter((l) => /error|not responding|not in sync|mismatch|can't|cannot|failed|timeout|No such file/i.test(l));
  const chosen = (errors.length > 0 ? errors : lines).slice(-3).join("; ");
  return chosen.length > 400 ? `${chosen.slice(0, 400)}…` : chosen || "it said nothing";
}
