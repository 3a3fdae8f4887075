/**
 * Which CPU a binary or a root filesystem is for, read from ELF headers (e_machine) and, when the tree
 * has no ELF where expected, from dpkg's own record of its architecture.
 */
import { closeSync, openSync, readSync } from "node:fs";
import type { Arch } from "../lib/release.ts";
import type { RootTree } from "./tree.ts";

export type { Arch };

/** What an ELF header says: a supported architecture, or a description of another one. */
export type ElfArch = { readonly arch: Arch } | { readonly other: string };

const EM: Record<number, string> = { 3: "x86", 8: "MIPS", 20: "PowerPC", 21: "PowerPC", 40: "ARM", 62: "x86", 183: "ARM", 243: "RISC-V" };

/** The architecture in an ELF header, or undefined when the bytes are not the start of an ELF file. */
export function elfArch(head: Uint8Array): ElfArch | undefined {
  if (head.length < 20 || head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46) return undefined;
  const is64 = head[4] === 2;
  const little = head[5] === 1;
  const machine = little ? head[18]! | (head[19]! << 8) : (head[18]! << 8) | head[19]!;
  if (is64 && little && machine === 62) return { arch: "x64" };
  if (is64 && little && machine === 183) return { arch: "arm64" };
  return { other: `${is64 ? "64-bit" : "32-bit"} ${EM[machine] ?? `ELF machine ${machine}`}${little ? "" : " (big-endian)"}` };
}

/** The architecture of a file on this machine, by its ELF header. */
export function fileElfArch(path: string): ElfArch | undefined {
  const fd = openSync(path, "r");
  try {
    const head = new Uint8Array(20);
    return elfArch(head.subarray(0, readSync(fd, head, 0, 20, 0)));
  } finally {
    closeSync(fd);
  }
}

/** dpkg's names (var/lib/dpkg/arch, `dpkg --print-architecture`) for the ones hearth runs on. */
const DPKG: Record<string, Arch> = { amd64: "x64", arm64: "arm64" };

/** Where a root filesystem's architecture was read, and what it is. */
export interface TreeArch {
  readonly arch: ElfArch;
  readonly from: string;
}

/**
 * The root filesystem's architecture: the ELF header of its /bin/sh (what every script on the board
 * runs), else of its dynamic loader, else dpkg's record. Undefined when none of them says.
 */
export function treeArch(tree: RootTree): TreeArch | undefined {
  for (const path of ["/bin/sh", "/usr/bin/sh", "/lib/ld-linux-aarch64.so.1", "/lib64/ld-linux-x86-64.so.2"]) {
    const arch = elfArch(tree.readHead(path, 20) ?? new Uint8Array());
    if (arch !== undefined) return { arch, from: path };
  }
  const dpkg = tree.readText("/var/lib/dpkg/arch")?.split("\n")[0]?.trim();
  if (dpkg !== undefined && dpkg !== "") {
    const arch = DPKG[dpkg];
    return { arch: arch === undefined ? { other: dpkg } : { arch }, from: "/var/lib/dpkg/arch" };
  }
  return undefined;
}

/** How a user reads an architecture: aarch64 for arm64, x86_64 for x64. */
export function describeArch(arch: ElfArch): string {
  if ("other" in arch) return arch.other;
  return arch.arch === "arm64" ? "aarch64 (arm64)" : "x86_64 (x64)";
}
