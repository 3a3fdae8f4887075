import { afterEach, describe, expect, test } from "bun:test";
import { chmod, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BunBinding } from "../../src/serial/binding.ts";
import { isSerialError } from "../../src/serial/errors.ts";
import { openPty, type Pty } from "../../src/serial/pty.ts";
import { tempDir } from "../helpers/temp.ts";

const root = join(import.meta.dir, "..", "..");
const ptys: Pty[] = [];
const closing: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closing.splice(0)) await close().catch(() => {});
  for (const pty of ptys.splice(0)) await pty.close();
});

function pty(): Pty {
  const p = openPty();
  ptys.push(p);
  return p;
}

async function openError(options: Parameters<BunBinding["open"]>[0]): Promise<unknown> {
  try {
    const port = await new BunBinding().open(options);
    closing.push(() => port.close());
    return undefined;
  } catch (err) {
    return err;
  }
}

const isRoot = process.getuid?.() === 0;
const setpriv = Bun.which("setpriv");

/**
 * Root opens any file whatever its mode, so as root the permission test runs the open in a child process
 * as user nobody (setpriv, util-linux). It needs nobody to be able to read this checkout.
 */
function canRunAsNobody(): boolean {
  if (!isRoot || setpriv === null) return false;
  const probe = Bun.spawnSync([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, "-e", `require(${JSON.stringify(join(root, "src/serial/errors.ts"))})`], {
    env: { PATH: process.env.PATH ?? "", HOME: tmpdir() },
  });
  return probe.exitCode === 0;
}

async function openAsNobody(path: string): Promise<{ code?: string; message?: string }> {
  const script = `import { BunBinding } from ${JSON.stringify(join(root, "src/serial/binding.ts"))};
try { await new BunBinding().open({ path: ${JSON.stringify(path)}, baudRate: 9600 }); console.log("{}"); }
catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;
  const proc = Bun.spawn([setpriv!, "--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, "-e", script], {
    env: { PATH: process.env.PATH ?? "", HOME: tmpdir() },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (out.trim() === "") throw new Error(`the child printed nothing: ${err}`);
  return JSON.parse(out);
}

describe("typed errors at open", () => {
  test("a path that does not exist gives SERIAL_NOT_FOUND", async () => {
    const err = await openError({ path: "/dev/ttyUSB-hearth-missing", baudRate: 9600 });
    expect(isSerialError(err, "SERIAL_NOT_FOUND")).toBe(true);
    expect((err as Error).message).toContain("/dev/ttyUSB-hearth-missing");
  });

  test("a regular file gives SERIAL_NOT_A_TTY", async () => {
    const dir = tempDir("hearth-serial-");
    const file = join(dir, "not-a-tty");
    await writeFile(file, "");
    expect(isSerialError(await openError({ path: file, baudRate: 9600 }), "SERIAL_NOT_A_TTY")).toBe(true);
  });

  test("a port another opener has locked gives SERIAL_BUSY", async () => {
    const p = pty();
    expect(await openError({ path: p.path, baudRate: 9600 })).toBeUndefined();
    const err = await openError({ path: p.path, baudRate: 9600 });
    expect(isSerialError(err, "SERIAL_BUSY")).toBe(true);
    expect((err as Error).message).toContain("in use");
  });

  test("without lock, a second opener is let in", async () => {
    const p = pty();
    expect(await openError({ path: p.path, baudRate: 9600, lock: false })).toBeUndefined();
    expect(await openError({ path: p.path, baudRate: 9600, lock: false })).toBeUndefined();
  });

  test("a non-standard baud rate gives SERIAL_UNSUPPORTED_BAUD before anything is opened", async () => {
    const err = await openError({ path: pty().path, baudRate: 14400 });
    expect(isSerialError(err, "SERIAL_UNSUPPORTED_BAUD")).toBe(true);
    expect((err as Error).message).toContain("14400");
  });

  test("impossible settings give SERIAL_INVALID_OPTIONS naming the setting", async () => {
    const p = pty();
    const cases = [
      [{ path: p.path, baudRate: 9600, dataBits: 9 as 8 }, "dataBits"],
      [{ path: p.path, baudRate: 9600, stopBits: 1.5 as const }, "stopBits"],
      [{ path: p.path, baudRate: 9600, parity: "sometimes" }, "parity"],
      [{ path: "", baudRate: 9600 }, "path"],
      [{ path: p.path, baudRate: -1 }, "baudRate"],
    ] as const;
    for (const [options, word] of cases) {
      const err = await openError(options);
      expect(isSerialError(err, "SERIAL_INVALID_OPTIONS")).toBe(true);
      expect((err as Error).message).toContain(word);
    }
  });

  const asNobody = isRoot && canRunAsNobody();
  if (isRoot && !asNobody) console.warn("running as root without setpriv able to switch to user nobody: the permission test is skipped (root opens any tty)");
  test.skipIf(isRoot && !asNobody)("a tty the user may not open gives SERIAL_PERMISSION_DENIED with the hint to join dialout (as root: checked as user nobody)", async () => {
    const p = pty();
    await chmod(p.path, 0o000);
    const err = isRoot ? await openAsNobody(p.path) : ((await openError({ path: p.path, baudRate: 9600 })) as { code?: string; message?: string });
    expect(err.code).toBe("SERIAL_PERMISSION_DENIED");
    expect(err.message).toContain("dialout");
    expect(err.message).toContain(p.path);
  });
});
