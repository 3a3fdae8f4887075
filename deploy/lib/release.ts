import { existsSync } from "node:fs";
import { basename, join } from "node:path";
import { DeployError } from "./errors.ts";

/** The CPU architectures hearth is built for (Bun has no 32-bit ARM build), in Bun's naming: the suffix of a binary's name. */
export const ARCHES = ["x64", "arm64"] as const;
/** One of ARCHES. */
export type Arch = (typeof ARCHES)[number];

/** The file name of a release's binary for one architecture (deploy/build writes it into dist/). */
export function binaryName(version: string, arch: Arch): string {
  return `hearth-${version}-linux-${arch}`;
}

/** The file name of a release's checksum file, in sha256sum's format. */
export function checksumName(version: string): string {
  return `hearth-${version}.sha256`;
}

/** A binary of the release to deploy, found in the dist folder. */
export interface LocalBinary {
  readonly arch: Arch;
  readonly path: string;
  readonly size: number;
  /** From `hearth-<version>.sha256`, and checked against the file itself. */
  readonly sha256: string;
}

/** Maps `uname -m` to the binary to install, or says why the board cannot run hearth. */
export function archOf(machine: string): Arch | { refused: string } {
  switch (machine) {
    case "aarch64":
    case "arm64":
      return "arm64";
    case "x86_64":
    case "amd64":
      return "x64";
    default:
      if (/^armv[5-8]/.test(machine)) return { refused: `the board runs a 32-bit ARM system (${machine}); Bun, and so hearth, needs a 64-bit OS (aarch64)` };
      return { refused: `the board's architecture is ${machine || "unknown"}; hearth is built for aarch64 and x86_64 only` };
  }
}

/** Versions become folder names on the board: keep them to plain characters. */
export function checkVersion(version: string): string {
  if (!/^[0-9A-Za-z][0-9A-Za-z._+-]*$/.test(version)) throw new DeployError("USAGE", `version "${version}" has characters a release folder cannot have`);
  return version;
}

/**
 * The release in a dist folder as deploy/build writes it: `hearth-<version>-linux-<arch>` and
 * `hearth-<version>.sha256` (sha256sum format). Each binary's checksum is computed once per run.
 */
export class LocalRelease {
  readonly dist: string;
  readonly version: string;
  private readonly binaries = new Map<Arch, Promise<LocalBinary>>();

  constructor(deps: { dist: string; version: string }) {
    this.dist = deps.dist;
    this.version = deps.version;
  }

  /** The binary for `arch`, checked against the checksum file; throws RELEASE_MISSING or CHECKSUM_MISMATCH. */
  binary(arch: Arch): Promise<LocalBinary> {
    let found = this.binaries.get(arch);
    if (found === undefined) {
      found = this.load(arch);
      this.binaries.set(arch, found);
    }
    return found;
  }

  private async load(arch: Arch): Promise<LocalBinary> {
    const name = binaryName(this.version, arch);
    const path = join(this.dist, name);
    const sumsFile = join(this.dist, checksumName(this.version));
    if (!existsSync(path)) throw new DeployError("RELEASE_MISSING", `no ${arch} binary of ${this.version}: ${path} is missing (deploy/build --version ${this.version} makes it)`);
    if (!existsSync(sumsFile)) throw new DeployError("RELEASE_MISSING", `${sumsFile} is missing: deploy only installs binaries whose checksum it knows`);
    const listed = parseSums(await Bun.file(sumsFile).text()).get(name);
    if (listed === undefined) throw new DeployError("RELEASE_MISSING", `${sumsFile} has no line for ${name}`);
    const actual = await sha256Of(Bun.file(path));
    if (actual !== listed) throw new DeployError("CHECKSUM_MISMATCH", `${path} does not match ${basename(sumsFile)} (sha256 ${actual}, listed ${listed}): rebuild it`);
    return { arch, path, size: Bun.file(path).size, sha256: actual };
  }
}

/** Reads sha256sum output: `<hex>  <name>` (or `<hex> *<name>` for binary mode) per line. */
export function parseSums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^([0-9a-f]{64}) [ *](.+)$/i.exec(line.trim());
    if (match?.[1] !== undefined && match[2] !== undefined) sums.set(basename(match[2]), match[1].toLowerCase());
  }
  return sums;
}

/** The sha256 of a file or a slice of one, streamed. */
export async function sha256Of(data: Blob): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256");
  for await (const chunk of data.stream()) hasher.update(chunk);
  return hasher.digest("hex");
}
