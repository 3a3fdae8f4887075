/**
 * A mounted root filesystem edited from the outside. Every path is absolute *inside the tree*, and
 * symlinks are followed inside it: an absolute link target (`/usr/lib/os-release`) means the tree's
 * `usr/lib/os-release`, never the host's, and `..` stops at the tree's root. So nothing is read from or
 * written to the laptop's own /etc by mistake.
 */
import { chmodSync, chownSync, closeSync, copyFileSync, lstatSync, mkdirSync, openSync, readFileSync, readlinkSync, readSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FlashError } from "./errors.ts";

/** Mode and numeric owner of something written into the tree (ids from the tree's passwd and group). */
export interface Ownership {
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

const MAX_LINKS = 40; // as the kernel's ELOOP limit

function components(path: string): string[] {
  return path.split("/").filter((c) => c !== "" && c !== ".");
}

/** A root filesystem folder (an SD card's mounted root partition, or a folder in a test). */
export class RootTree {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  /** The host path of `path`, symlinks resolved inside the tree (the last one too unless `followLast` is false). */
  resolve(path: string, followLast = true): string {
    const rest = components(path);
    let resolved: string[] = [];
    let links = 0;
    while (rest.length > 0) {
      const name = rest.shift()!;
      if (name === "..") {
        resolved.pop();
        continue;
      }
      const host = join(this.root, ...resolved, name);
      const stat = lstatSync(host, { throwIfNoEntry: false });
      if (stat?.isSymbolicLink() && (rest.length > 0 || followLast)) {
        if (++links > MAX_LINKS) throw new FlashError("TREE_ESCAPE", `too many symbolic links resolving ${path} in ${this.root}`);
        const target = readlinkSync(host);
        if (target.startsWith("/")) resolved = [];
        rest.unshift(...components(target));
        continue;
      }
      resolved.push(name);
    }
    return join(this.root, ...resolved);
  }

  /** Whether `path` exists in the tree (following links inside it). */
  exists(path: string): boolean {
    return statSync(this.resolve(path), { throwIfNoEntry: false }) !== undefined;
  }

  /** Whether `path` is a regular file in the tree. */
  isFile(path: string): boolean {
    return statSync(this.resolve(path), { throwIfNoEntry: false })?.isFile() ?? false;
  }

  /** The file's text, or undefined when it is not there. */
  readText(path: string): string | undefined {
    return this.isFile(path) ? readFileSync(this.resolve(path), "utf8") : undefined;
  }

  /** The first `length` bytes of a file (fewer if it is shorter), or undefined when it is not there. */
  readHead(path: string, length: number): Uint8Array | undefined {
    if (!this.isFile(path)) return undefined;
    const fd = openSync(this.resolve(path), "r");
    try {
      const bytes = new Uint8Array(length);
      return bytes.subarray(0, readSync(fd, bytes, 0, length, 0));
    } finally {
      closeSync(fd);
    }
  }

  /** Mode and owner of an existing file, to keep when it is rewritten. */
  ownershipOf(path: string): Ownership | undefined {
    const stat = statSync(this.resolve(path), { throwIfNoEntry: false });
    return stat === undefined ? undefined : { mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid };
  }

  /**
   * Makes a directory and any missing parents (parents as root:root 0755). `ownership`, when given, is
   * applied to the directory itself every time, so a second run leaves it the same.
   */
  ensureDir(path: string, ownership?: Ownership): string {
    const parts = components(path);
    for (let i = 1; i <= parts.length; i++) {
      const host = this.resolve(`/${parts.slice(0, i).join("/")}`);
      const stat = statSync(host, { throwIfNoEntry: false });
      if (stat === undefined) {
        mkdirSync(host);
        applyOwnership(host, { mode: 0o755, uid: 0, gid: 0 });
      } else if (!stat.isDirectory()) {
        throw new FlashError("TREE_ESCAPE", `${path}: ${parts.slice(0, i).join("/")} is in the way: it is not a directory`);
      }
    }
    const host = this.resolve(path);
    if (ownership !== undefined) applyOwnership(host, ownership);
    return host;
  }

  /** Writes a file atomically (a temporary file in the same folder, renamed over it): a symlink there is replaced, not followed. */
  writeFile(path: string, data: string | Uint8Array, ownership: Ownership): void {
    this.replace(path, (tmp) => writeFileSync(tmp, data, { mode: 0o600 }), ownership);
  }

  /** Copies a host file into the tree, atomically like writeFile. */
  copyFile(path: string, source: string, ownership: Ownership): void {
    this.replace(path, (tmp) => copyFileSync(source, tmp), ownership);
  }

  /** Makes `path` a symlink to `target` (kept exactly as given), replacing what was there atomically. */
  symlink(path: string, target: string): void {
    const host = this.resolve(path, false);
    const tmp = `${host}.flash-${process.pid}`;
    rmSync(tmp, { force: true });
    symlinkSync(target, tmp);
    try {
      renameSync(tmp, host);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
  }

  /** What the symlink at `path` points to, or undefined when it is not a symlink. */
  readLink(path: string): string | undefined {
    const host = this.resolve(path, false);
    return lstatSync(host, { throwIfNoEntry: false })?.isSymbolicLink() ? readlinkSync(host) : undefined;
  }

  private replace(path: string, write: (tmp: string) => void, ownership: Ownership): void {
    const host = this.resolve(path, false);
    if (lstatSync(host, { throwIfNoEntry: false })?.isDirectory()) throw new FlashError("TREE_ESCAPE", `${path} is a directory in ${this.root}`);
    const tmp = `${host}.flash-${process.pid}`;
    try {
      write(tmp);
      applyOwnership(tmp, ownership);
      renameSync(tmp, host);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
  }
}

function applyOwnership(host: string, { mode, uid, gid }: Ownership): void {
  chownSync(host, uid, gid);
  chmodSync(host, mode); // after chown, which clears set-id bits
}
