/**
 * Built hearth binaries for the deploy tests: each (arch, version) is built once per source tree with
 * deploy/build into a cache under the system temp folder that every test file of a run shares. Two test
 * processes asking at once do not both build: the first takes a lock (a folder made with mkdir) and the
 * other waits for the release to appear; a build always lands in a temp folder renamed into place, so a
 * killed build never leaves a half release behind.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { type Arch, binaryName, checksumName } from "../../deploy/lib/release.ts";
import { VERSION } from "../../src/version.ts";

/** A CPU architecture hearth is built for. */
export type { Arch };

/** One built release: the binary, its checksum file (`sha256sum -c` format) and the version it reports. */
export interface BuiltRelease {
  readonly binary: string;
  readonly sha256File: string;
  readonly version: string;
}

const ROOT = join(import.meta.dir, "..", "..");
const BUILD = join(ROOT, "deploy", "build");
// Kept across runs on purpose (a build takes a minute), so not in the temporary directory: in the
// checkout's ignored .hearth/ folder.
const CACHE = join(ROOT, ".hearth", "test-builds");
/** What a build reads: a change to any of these makes a new cache key. */
const INPUTS = ["src", "devices", "deploy/build.ts", "deploy/lib/release.ts", "package.json", "tsconfig.json"];
/** A build of both targets takes well under this; the arm64 one downloads Bun's runtime the first time. */
const LOCK_STALE_MS = 10 * 60_000;
/** A cached release nobody asked for in this long is removed (every edit of src/ makes a new key; each is ~110 MB). */
const UNUSED_MS = 30 * 60_000;

const inProcess = new Map<string, Promise<BuiltRelease>>();

/** The path of a built binary for `arch` (the package's version unless told another), built on first use. */
export async function builtBinary(arch: Arch, version?: string): Promise<string> {
  return (await builtRelease(arch, version)).binary;
}

/** A built release for `arch` and `version` (the package's version by default), built on first use. */
export function builtRelease(arch: Arch, version: string = VERSION): Promise<BuiltRelease> {
  const key = `${arch}-${version}-${sourceHash()}`;
  let release = inProcess.get(key);
  if (release === undefined) {
    release = buildOnce(key, arch, version);
    inProcess.set(key, release);
    release.catch(() => inProcess.delete(key));
  }
  return release;
}

function releaseIn(dir: string, arch: Arch, version: string): BuiltRelease {
  return { binary: join(dir, binaryName(version, arch)), sha256File: join(dir, checksumName(version)), version };
}

async function buildOnce(key: string, arch: Arch, version: string): Promise<BuiltRelease> {
  mkdirSync(CACHE, { recursive: true });
  pruneUnused();
  const dir = join(CACHE, key);
  const lock = `${dir}.lock`;
  for (;;) {
    if (existsSync(dir)) return used(dir, arch, version);
    if (takeLock(lock)) break;
    await Bun.sleep(250);
  }
  try {
    if (existsSync(dir)) return used(dir, arch, version);
    const work = `${dir}.tmp-${process.pid}`;
    rmSync(work, { recursive: true, force: true });
    const build = Bun.spawn([BUILD, "--arch", arch, "--version", version, "--out", work], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(build.stdout).text(), new Response(build.stderr).text(), build.exited]);
    if (code !== 0) {
      rmSync(work, { recursive: true, force: true });
      throw new Error(`deploy/build --arch ${arch} --version ${version} failed with exit code ${code}:\n${stdout}${stderr}`);
    }
    renameSync(work, dir);
    return releaseIn(dir, arch, version);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Marks a cached release as just used (its folder's mtime), so pruning spares it. */
function used(dir: string, arch: Arch, version: string): BuiltRelease {
  const now = new Date();
  utimesSync(dir, now, now);
  return releaseIn(dir, arch, version);
}

/** Removes cached releases unused for UNUSED_MS, and builds left behind by killed test runs. */
function pruneUnused(): void {
  for (const name of readdirSync(CACHE)) {
    const path = join(CACHE, name);
    if (name.endsWith(".lock")) continue;
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat !== undefined && Date.now() - stat.mtimeMs > UNUSED_MS) rmSync(path, { recursive: true, force: true });
  }
}

/** Takes the build lock, or breaks it when its holder is gone (killed test run) or it is older than any build. */
function takeLock(lock: string): boolean {
  try {
    mkdirSync(lock);
    writeFileSync(join(lock, "pid"), String(process.pid));
    return true;
  } catch {
    if (lockIsStale(lock)) rmSync(lock, { recursive: true, force: true });
    return false;
  }
}

function lockIsStale(lock: string): boolean {
  try {
    const pid = Number(readFileSync(join(lock, "pid"), "utf8"));
    if (Number.isInteger(pid) && pid > 0 && !processAlive(pid)) return true;
    return Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS;
  } catch {
    // The pid file is not written yet, or the lock just went: look again next round.
    return false;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Hash of the path, size and mtime of every file a build reads (cheap, and changes with any edit). */
function sourceHash(): string {
  const hash = createHash("sha256");
  const visit = (path: string) => {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat === undefined) return;
    if (stat.isDirectory()) {
      for (const name of readdirSync(path).sort()) visit(join(path, name));
      return;
    }
    hash.update(`${relative(ROOT, path)}\0${stat.size}\0${stat.mtimeMs}\n`);
  };
  for (const input of INPUTS) visit(join(ROOT, input));
  return hash.digest("hex").slice(0, 16);
}
