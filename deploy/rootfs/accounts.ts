/**
 * The `hearth` system user and group, and its membership of `dialout`, written into a tree's
 * /etc/passwd, group, shadow and gshadow the way `useradd --system` would: ids read from the tree's own
 * files (never the host's), taken from the top of the system range down, and nothing added twice.
 * Planning reads only; applying writes the planned files.
 */
import { FlashError } from "./errors.ts";
import type { RootTree } from "./tree.ts";

/** The account hearth runs as, and what flashing changes to have it. */
export interface AccountPlan {
  readonly user: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  /** New text of each file that changes (absolute path in the tree); empty when all is in place. */
  readonly edits: ReadonlyMap<string, string>;
  /** One line per change, for the report. */
  readonly changes: readonly string[];
}

const USER = "hearth";
const HOME = "/var/lib/hearth";
const DIALOUT = "dialout";
/** Debian's fixed gid of `dialout` (base-passwd). */
const DIALOUT_GID = 20;

type Entry = string[];

function parse(text: string): Entry[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.startsWith("#") && !line.startsWith("+") && !line.startsWith("-"))
    .map((line) => line.split(":"));
}

function appendLine(text: string, line: string): string {
  return `${text}${text === "" || text.endsWith("\n") ? "" : "\n"}${line}\n`;
}

/** Replaces the line of entry `name` in a colon file with `fields`. */
function replaceEntry(text: string, name: string, fields: Entry): string {
  return text
    .split("\n")
    .map((line) => (line.split(":")[0] === name ? fields.join(":") : line))
    .join("\n");
}

/** `SYS_UID_MIN`-style values from the tree's login.defs, Debian's defaults when unset. */
function systemRange(tree: RootTree, kind: "UID" | "GID"): [number, number] {
  const defs = tree.readText("/etc/login.defs") ?? "";
  const value = (key: string, fallback: number) => {
    const match = new RegExp(`^\\s*${key}\\s+(\\d+)\\s*$`, "m").exec(defs);
    return match ? Number(match[1]) : fallback;
  };
  return [value(`SYS_${kind}_MIN`, 100), value(`SYS_${kind}_MAX`, 999)];
}

/** The highest id of the range free in every one of `taken`, or undefined. */
function highestFree([min, max]: [number, number], ...taken: Set<number>[]): number | undefined {
  for (let id = max; id >= min; id--) if (taken.every((set) => !set.has(id))) return id;
  return undefined;
}

function requireFile(tree: RootTree, path: string): string {
  const text = tree.readText(path);
  if (text === undefined) throw new FlashError("NOT_A_ROOTFS", `${tree.root} has no ${path}`);
  return text;
}

/** Reads the tree's account files and plans the `hearth` user, its group and its `dialout` membership. */
export function planAccounts(tree: RootTree): AccountPlan {
  let passwd = requireFile(tree, "/etc/passwd");
  let group = requireFile(tree, "/etc/group");
  let shadow = tree.readText("/etc/shadow");
  let gshadow = tree.readText("/etc/gshadow");
  const changes: string[] = [];
  const users = parse(passwd);
  const groups = parse(group);
  const uids = new Set(users.map((u) => Number(u[2])));
  const gids = new Set(groups.map((g) => Number(g[2])));
  const uidRange = systemRange(tree, "UID");
  const gidRange = systemRange(tree, "GID");

  const existingUser = users.find((u) => u[0] === USER);
  const existingGroup = groups.find((g) => g[0] === USER);
  let gid: number;
  if (existingGroup !== undefined) gid = Number(existingGroup[2]);
  else if (existingUser !== undefined && !gids.has(Number(existingUser[3]))) gid = Number(existingUser[3]);
  else {
    // Same number for the user and its group when one is free for both, as useradd does.
    const free = existingUser === undefined ? (highestFree(gidRange, gids, uids) ?? highestFree(gidRange, gids)) : highestFree(gidRange, gids);
    if (free === undefined) throw new FlashError("ACCOUNTS", `no free system group id in ${gidRange.join("…")} in ${tree.root}/etc/group`);
    gid = free;
  }
  if (existingGroup === undefined) {
    group = appendLine(group, `${USER}:x:${gid}:`);
    gids.add(gid);
    changes.push(`group ${USER} (gid ${gid})`);
  }

  let uid: number;
  if (existingUser !== undefined) uid = Number(existingUser[2]);
  else {
    const free = !uids.has(gid) && gid >= uidRange[0] && gid <= uidRange[1] ? gid : highestFree(uidRange, uids);
    if (free === undefined) throw new FlashError("ACCOUNTS", `no free system user id in ${uidRange.join("…")} in ${tree.root}/etc/passwd`);
    uid = free;
    const shell = ["/usr/sbin/nologin", "/sbin/nologin"].find((s) => tree.isFile(s)) ?? "/bin/false";
    passwd = appendLine(passwd, `${USER}:x:${uid}:${gid}:hearth:${HOME}:${shell}`);
    changes.push(`user ${USER} (uid ${uid}, gid ${gid}, home ${HOME}, shell ${shell})`);
  }
  // A locked password: the account exists to run the service, nobody logs in as it.
  const days = Math.floor(Date.now() / 86_400_000);
  if (shadow === undefined) shadow = "";
  if (!parse(shadow).some((s) => s[0] === USER)) shadow = appendLine(shadow, `${USER}:!:${days}::::::`);
  if (gshadow !== undefined && !parse(gshadow).some((g) => g[0] === USER)) gshadow = appendLine(gshadow, `${USER}:!::`);

  const dialout = parse(group).find((g) => g[0] === DIALOUT);
  if (dialout === undefined) {
    const dialoutGid = gids.has(DIALOUT_GID) ? highestFree(gidRange, gids) : DIALOUT_GID;
    if (dialoutGid === undefined) throw new FlashError("ACCOUNTS", `no free group id for ${DIALOUT} in ${tree.root}/etc/group`);
    group = appendLine(group, `${DIALOUT}:x:${dialoutGid}:${USER}`);
    changes.push(`group ${DIALOUT} (gid ${dialoutGid}, missing from the tree) with ${USER} in it`);
  } else {
    const members = (dialout[3] ?? "").split(",").filter((m) => m !== "");
    if (!members.includes(USER)) {
      group = replaceEntry(group, DIALOUT, [dialout[0]!, dialout[1] ?? "x", dialout[2]!, [...members, USER].join(",")]);
      changes.push(`${USER} added to group ${DIALOUT} (gid ${dialout[2]})`);
    }
  }
  if (gshadow !== undefined) {
    const entry = parse(gshadow).find((g) => g[0] === DIALOUT);
    if (entry === undefined) gshadow = appendLine(gshadow, `${DIALOUT}:!::${USER}`);
    else {
      const members = (entry[3] ?? "").split(",").filter((m) => m !== "");
      if (!members.includes(USER)) gshadow = replaceEntry(gshadow, DIALOUT, [entry[0]!, entry[1] ?? "", entry[2] ?? "", [...members, USER].join(",")]);
    }
  }

  const edits = new Map<string, string>();
  const original: Record<string, string | undefined> = {
    "/etc/passwd": tree.readText("/etc/passwd"),
    "/etc/group": tree.readText("/etc/group"),
    "/etc/shadow": tree.readText("/etc/shadow"),
    "/etc/gshadow": tree.readText("/etc/gshadow"),
  };
  const updated: Record<string, string | undefined> = { "/etc/passwd": passwd, "/etc/group": group, "/etc/shadow": shadow, "/etc/gshadow": gshadow };
  for (const [path, text] of Object.entries(updated)) if (text !== undefined && text !== original[path]) edits.set(path, text);
  return { user: USER, uid, gid, home: HOME, edits, changes };
}

/** The gid of a group in the tree's /etc/group (`shadow` owns /etc/shadow on Debian), or undefined. */
export function groupId(tree: RootTree, name: string): number | undefined {
  const entry = parse(tree.readText("/etc/group") ?? "").find((g) => g[0] === name);
  return entry === undefined ? undefined : Number(entry[2]);
}

/** Writes the planned account files, each keeping its mode and owner (new ones as Debian makes them). */
export function applyAccounts(tree: RootTree, plan: AccountPlan): string[] {
  const shadowGid = groupId(tree, "shadow") ?? 0;
  const fallback: Record<string, { mode: number; uid: number; gid: number }> = {
    "/etc/passwd": { mode: 0o644, uid: 0, gid: 0 },
    "/etc/group": { mode: 0o644, uid: 0, gid: 0 },
    "/etc/shadow": { mode: 0o640, uid: 0, gid: shadowGid },
    "/etc/gshadow": { mode: 0o640, uid: 0, gid: shadowGid },
  };
  const written: string[] = [];
  for (const [path, text] of plan.edits) {
    tree.writeFile(path, text, tree.ownershipOf(path) ?? fallback[path]!);
    written.push(path);
  }
  return written;
}
