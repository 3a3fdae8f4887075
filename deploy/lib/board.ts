import { join } from "node:path";
import { DeployError } from "./errors.ts";
import { type LocalBinary, sha256Of } from "./release.ts";
import { lastLines, type Ssh, shq } from "./ssh.ts";

/**
 * The steps deploy takes on one board, each a plain function of an Ssh and the board's layout.
 * Every script is POSIX sh with its paths quoted; nothing here is interactive.
 */

/** Where hearth lives on a board, under a root prefix (`/` on a real board). */
export interface Layout {
  readonly releases: string;
  /** The symlink to the running release: `current -> releases/<version>`. */
  readonly current: string;
  /** The service's config: a symlink to `current/hearth.yaml`, so a release carries its config. */
  readonly etcConfig: string;
  readonly base: string;
}

/** The layout under `root`. */
export function layoutOf(root = "/"): Layout {
  const base = join(root, "opt", "hearth");
  return { base, releases: join(base, "releases"), current: join(base, "current"), etcConfig: join(root, "etc", "hearth", "hearth.yaml") };
}

/** What a board has before anything is changed. */
export interface BoardState {
  /** `uname -m`. */
  readonly machine: string;
  readonly uid: number;
  /** The release `current` points at (its folder name). */
  readonly currentRelease?: string;
  /** What `current/hearth --version` prints. */
  readonly currentVersion?: string;
  /** Release folders, newest first. */
  readonly releases: readonly string[];
  readonly etcConfig: "symlink" | "file" | "missing";
}

/** Reads the board's architecture, current release and version, in one connection, changing nothing. */
export async function probeBoard(ssh: Ssh, layout: Layout): Promise<BoardState> {
  const out = await ssh.runOk(
    `echo "machine=$(uname -m)"
echo "uid=$(id -u)"
if [ -L ${shq(layout.current)} ]; then echo "current=$(readlink ${shq(layout.current)})"; fi
if [ -x ${shq(join(layout.current, "hearth"))} ]; then echo "version=$(${shq(join(layout.current, "hearth"))} --version 2>/dev/null | head -n 1)"; fi
if [ -d ${shq(layout.releases)} ]; then ls -1t ${shq(layout.releases)} | sed 's/^/release=/'; fi
if [ -L ${shq(layout.etcConfig)} ]; then echo etc=symlink; elif [ -f ${shq(layout.etcConfig)} ]; then echo etc=file; else echo etc=missing; fi
command -v sha256sum >/dev/null || echo "nosha=1"`,
    "reading the board's state",
  );
  const values = keyValues(out);
  if (values.get("nosha")?.[0] !== undefined) throw new DeployError("REMOTE_FAILED", "the board has no sha256sum (coreutils): deploy needs it to verify uploads");
  const current = values.get("current")?.[0];
  const version = values.get("version")?.[0];
  return {
    machine: values.get("machine")?.[0] ?? "",
    uid: Number(values.get("uid")?.[0] ?? -1),
    ...(current ? { currentRelease: current.replace(/\/+$/, "").split("/").pop() } : {}),
    ...(version ? { currentVersion: version } : {}),
    releases: values.get("release") ?? [],
    etcConfig: (values.get("etc")?.[0] ?? "missing") as BoardState["etcConfig"],
  };
}

/**
 * Takes the board's deploy lock, a folder made atomically with mkdir, so two deploys never change one
 * board at once; throws BOARD_LOCKED naming who holds it. A deploy that was killed leaves it behind.
 */
export async function lockBoard(ssh: Ssh, layout: Layout, owner: string): Promise<void> {
  const lock = join(layout.base, ".deploy-lock");
  const out = await ssh.runOk(
    `mkdir -p ${shq(layout.base)}
if mkdir ${shq(lock)} 2>/dev/null; then echo ${shq(owner)} > ${shq(join(lock, "owner"))}; echo locked
else echo "held by $(cat ${shq(join(lock, "owner"))} 2>/dev/null || echo unknown)"; fi`,
    "taking the deploy lock",
  );
  if (out.trim() !== "locked") {
    throw new DeployError("BOARD_LOCKED", `another deploy is changing this board (${out.trim()}); if none is, remove ${lock}`);
  }
}

/** Gives the deploy lock back. */
export async function unlockBoard(ssh: Ssh, layout: Layout): Promise<void> {
  await ssh.runOk(`rm -rf ${shq(join(layout.base, ".deploy-lock"))}`, "releasing the deploy lock");
}

/** What a release folder on the board already holds, from an earlier or interrupted deploy. */
export interface ReleaseOnBoard {
  readonly binarySha?: string;
  readonly partSize?: number;
  readonly partSha?: string;
  readonly configSha?: string;
}

/** Checksums of what `releases/<version>` holds (nothing changed). */
export async function releaseOnBoard(ssh: Ssh, dir: string): Promise<ReleaseOnBoard> {
  const bin = shq(join(dir, "hearth"));
  const part = shq(join(dir, "hearth.part"));
  const config = shq(join(dir, "hearth.yaml"));
  const values = keyValues(
    await ssh.runOk(
      `if [ -f ${bin} ]; then echo "bin=$(sha256sum < ${bin} | cut -c1-64)"; fi
if [ -f ${part} ]; then echo "partsize=$(wc -c < ${part})"; echo "partsha=$(sha256sum < ${part} | cut -c1-64)"; fi
if [ -f ${config} ]; then echo "config=$(sha256sum < ${config} | cut -c1-64)"; fi`,
      "reading the release folder",
    ),
  );
  const one = (k: string) => values.get(k)?.[0];
  const partSize = one("partsize");
  return {
    ...(one("bin") ? { binarySha: one("bin") } : {}),
    ...(partSize ? { partSize: Number(partSize.trim()), partSha: one("partsha") } : {}),
    ...(one("config") ? { configSha: one("config") } : {}),
  };
}

/** How an upload went: skipped (already there), resumed from a byte offset, or sent whole. */
export type UploadResult = { kind: "present" } | { kind: "resumed"; from: number } | { kind: "sent" };

/**
 * Puts the binary at `dir/hearth`: written to `hearth.part` (continued when what is there is a prefix of
 * the binary, started over otherwise), then checked with sha256sum on the board and only then renamed.
 */
export async function uploadBinary(ssh: Ssh, dir: string, binary: LocalBinary, found: ReleaseOnBoard, onSent: (bytes: number) => void): Promise<UploadResult> {
  if (found.binarySha === binary.sha256) return { kind: "present" };
  const part = join(dir, "hearth.part");
  let from = 0;
  if (found.partSize !== undefined && found.partSize > 0 && found.partSize <= binary.size) {
    const localPrefix = await sha256Of(Bun.file(binary.path).slice(0, found.partSize));
    if (localPrefix === found.partSha) from = found.partSize;
  }
  const redirect = from > 0 ? ">>" : ">";
  await ssh.runOk(`mkdir -p ${shq(dir)} && cat ${redirect} ${shq(part)}`, "uploading the binary", {
    stdin: Bun.file(binary.path).slice(from),
    onSent: (n) => onSent(from + n),
  });
  const verdict = await ssh.runOk(
    `got=$(sha256sum < ${shq(part)} | cut -c1-64)
if [ "$got" = ${shq(binary.sha256)} ]; then chmod 0755 ${shq(part)} && mv -f ${shq(part)} ${shq(join(dir, "hearth"))} && echo ok
else rm -f ${shq(part)}; echo "mismatch $got"; fi`,
    "verifying the upload",
  );
  if (verdict.trim() !== "ok") {
    throw new DeployError("CHECKSUM_MISMATCH", `the uploaded binary's sha256 on the board (${verdict.trim().replace(/^mismatch /, "")}) is not ${binary.sha256}; removed it`);
  }
  return from > 0 ? { kind: "resumed", from } : { kind: "sent" };
}

/** Writes the release's hearth.yaml: the given one, or a copy of the config the board runs now. */
export async function installConfig(ssh: Ssh, layout: Layout, dir: string, config: Blob | undefined): Promise<void> {
  const target = join(dir, "hearth.yaml");
  const tmp = `${target}.part`;
  // Readable by the service's group only: a config can hold an MQTT password.
  const finish = `chmod 0640 ${shq(tmp)} && { chgrp hearth ${shq(tmp)} 2>/dev/null || true; } && mv -f ${shq(tmp)} ${shq(target)}`;
  if (config !== undefined) {
    await ssh.runOk(`mkdir -p ${shq(dir)} && umask 077 && cat > ${shq(tmp)} && ${finish}`, "uploading the config", { stdin: config });
    return;
  }
  const result = await ssh.run(`[ -f ${shq(layout.etcConfig)} ] || exit 3; mkdir -p ${shq(dir)} && umask 077 && cp -L ${shq(layout.etcConfig)} ${shq(tmp)} && ${finish}`);
  if (result.code === 3) throw new DeployError("USAGE", `no --config given and the board has no ${layout.etcConfig} to carry over`);
  if (result.code !== 0) throw new DeployError("REMOTE_FAILED", `copying the board's config failed: ${lastLines(result.stderr)}`);
}

/** What the uploaded binary says its version is (run on the board: it also proves the binary runs there). */
export async function binaryVersion(ssh: Ssh, dir: string): Promise<string> {
  const out = await ssh.runOk(`${shq(join(dir, "hearth"))} --version`, "running the new binary (hearth --version)");
  return out.trim().split("\n")[0] ?? "";
}

/** Runs `hearth check-config` with the new binary on the new config. */
export async function checkConfig(ssh: Ssh, dir: string): Promise<void> {
  const result = await ssh.run(`${shq(join(dir, "hearth"))} check-config --config ${shq(join(dir, "hearth.yaml"))} 2>&1`);
  if (result.code !== 0) throw new DeployError("CONFIG_INVALID", `hearth check-config refused the config: ${lastLines(result.stdout, 6)}`);
}

/**
 * Points `current` at `release` atomically (`ln -s` to a temporary name, then `mv -T` over the old link).
 * The first time, /etc/hearth/hearth.yaml becomes a link to `current/hearth.yaml` (a flashed board's file
 * is first copied into the release it belongs to, so rolling back to that release keeps its config, and
 * kept as hearth.yaml.before-deploy).
 */
export async function switchCurrent(ssh: Ssh, layout: Layout, release: string, previous: string | undefined): Promise<void> {
  const etc = shq(layout.etcConfig);
  const adopt =
    previous === undefined
      ? ""
      : `if [ -f ${etc} ] && [ ! -L ${etc} ] && [ ! -e ${shq(join(layout.releases, previous, "hearth.yaml"))} ]; then cp -p ${etc} ${shq(join(layout.releases, previous, "hearth.yaml"))}; fi\n`;
  await ssh.runOk(
    `set -e
${adopt}mkdir -p "$(dirname ${etc})"
if [ -f ${etc} ] && [ ! -L ${etc} ] && [ ! -e ${etc}.before-deploy ]; then cp -p ${etc} ${etc}.before-deploy; fi
if [ ! -L ${etc} ] || [ "$(readlink ${etc})" != ${shq(join(layout.current, "hearth.yaml"))} ]; then
  ln -s ${shq(join(layout.current, "hearth.yaml"))} ${etc}.new.$$ && mv -Tf ${etc}.new.$$ ${etc}
fi
touch ${shq(join(layout.releases, release))}
cd ${shq(layout.base)}
rm -f current.new.$$
ln -s ${shq(`releases/${release}`)} current.new.$$ && mv -Tf current.new.$$ current`,
    `switching current to ${release}`,
  );
}

/** `<service cmd> restart hearth`. */
export async function restartService(ssh: Ssh, serviceCmd: string): Promise<void> {
  await ssh.runOk(`${serviceCmd} restart hearth`, `${serviceCmd} restart hearth`);
}

/**
 * Polls `hearth health` (the current binary, the service's config) until it answers healthy with the
 * `expected` version, or `timeoutS` passes; the last answer is in the error.
 */
export async function waitHealthy(ssh: Ssh, layout: Layout, expected: string, timeoutS: number, options: { signal?: AbortSignal; node?: string } = {}): Promise<void> {
  const { signal, node } = options;
  const deadline = Date.now() + timeoutS * 1000;
  let last = "no answer yet";
  for (;;) {
    const result = await ssh.run(`${shq(join(layout.current, "hearth"))} health --json --config ${shq(layout.etcConfig)}`, signal === undefined ? {} : { signal });
    const health = parseHealth(result.stdout);
    if (result.code === 0 && health?.version === expected && health.healthy === true) {
      if (node !== undefined && health.node !== node) {
        throw new DeployError(
          "NODE_MISMATCH",
          `hearth there answers as node ${JSON.stringify(health.node ?? "?")} (its node_id), but the fleet file names it ${JSON.stringify(node)}: hearth fleet would list it under the other name`,
        );
      }
      return;
    }
    last = health === undefined ? lastLines(result.stderr || result.stdout) : describeHealth(health);
    if (Date.now() >= deadline) throw new DeployError("HEALTH_FAILED", `hearth health did not pass within ${timeoutS} s (last: ${last})`);
    await Bun.sleep(Math.min(1000, Math.max(0, deadline - Date.now())));
  }
}

/** What `hearth health --json` prints that deploy reads (`status` and `problems` only from hearths that send them). */
interface HealthAnswer {
  healthy?: boolean;
  version?: string;
  node?: string;
  status?: string;
  problems?: string[];
}

function parseHealth(stdout: string): HealthAnswer | undefined {
  try {
    const data = JSON.parse(stdout) as unknown;
    return data !== null && typeof data === "object" ? (data as HealthAnswer) : undefined;
  } catch {
    return undefined;
  }
}

/** `unhealthy, version 1.4.0: board: not loaded (setup_retry): …`, for the error when health never passes. */
function describeHealth(health: HealthAnswer): string {
  const status = health.healthy ? "healthy" : health.status === "starting" ? "starting" : "unhealthy";
  const problems = Array.isArray(health.problems) ? health.problems.slice(0, 3).map(String) : [];
  return `${status}, version ${health.version ?? "?"}${problems.length > 0 ? `: ${problems.join("; ")}` : ""}`;
}

/** The releases to remove so that `keep` (current, previous) plus the newest others make at most `count`. */
export function releasesToRemove(newestFirst: readonly string[], keep: readonly string[], count = 3): string[] {
  const kept = new Set(keep.filter((k) => newestFirst.includes(k)));
  for (const release of newestFirst) {
    if (kept.size >= count) break;
    kept.add(release);
  }
  return newestFirst.filter((r) => !kept.has(r));
}

/** Removes all but the last `count` releases, never `keep`; returns what it removed. */
export async function pruneReleases(ssh: Ssh, layout: Layout, keep: readonly string[], count = 3): Promise<string[]> {
  const listing = await ssh.runOk(`ls -1t ${shq(layout.releases)}`, "listing releases");
  const remove = releasesToRemove(
    listing.split("\n").filter((l) => l.trim() !== ""),
    keep,
    count,
  );
  if (remove.length > 0) await ssh.runOk(`cd ${shq(layout.releases)} && rm -rf -- ${remove.map(shq).join(" ")}`, "removing old releases");
  return remove;
}

/** The default service command: plain systemctl as root, `sudo -n systemctl` (never prompting) otherwise. */
export function defaultServiceCmd(uid: number): string {
  return uid === 0 ? "systemctl" : "sudo -n systemctl";
}

/** `key=value` lines, each key with all its values in order. */
function keyValues(text: string): Map<string, string[]> {
  const values = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    values.set(key, [...(values.get(key) ?? []), line.slice(eq + 1)]);
  }
  return values;
}

/**
 * Puts a firmware image into the release (`<release>/firmware/<device>.hex`, so the board keeps what each
 * release carried) and has the running hearth write it to the device (`hearth firmware`, which rolls the
 * device back itself when the new image does not say hello). Resolves with what hearth said it did.
 */
export async function updateFirmware(ssh: Ssh, layout: Layout, dir: string, device: string, image: Blob): Promise<string> {
  const folder = join(dir, "firmware");
  const target = join(folder, `${device}.hex`);
  await ssh.runOk(`mkdir -p ${shq(folder)} && cat > ${shq(`${target}.part`)} && mv -f ${shq(`${target}.part`)} ${shq(target)}`, `uploading the firmware of ${device}`, { stdin: image });
  const result = await ssh.run(`${shq(join(layout.current, "hearth"))} firmware --config ${shq(layout.etcConfig)} ${shq(device)} ${shq(target)} 2>&1`);
  if (result.code !== 0) throw new DeployError("FIRMWARE_FAILED", `the firmware of ${device} was not updated: ${lastLines(result.stdout, 4)}`);
  return lastLines(result.stdout, 1);
}
