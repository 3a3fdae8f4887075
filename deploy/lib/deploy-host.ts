import { hostname } from "node:os";
import { join } from "node:path";
import {
  type BoardState,
  binaryVersion,
  checkConfig,
  defaultServiceCmd,
  installConfig,
  type Layout,
  layoutOf,
  lockBoard,
  probeBoard,
  pruneReleases,
  type ReleaseOnBoard,
  releaseOnBoard,
  releasesToRemove,
  restartService,
  switchCurrent,
  type UploadResult,
  unlockBoard,
  updateFirmware,
  uploadBinary,
  waitHealthy,
} from "./board.ts";
import { DeployError, isDeployError } from "./errors.ts";
import type { HostTarget } from "./fleet.ts";
import type { HostResult } from "./progress.ts";
import { archOf, type LocalBinary, type LocalRelease, sha256Of } from "./release.ts";
import { Ssh, type SshSettings } from "./ssh.ts";

/** Releases kept on a board: the current one, the previous one and the newest other. */
export const KEEP_RELEASES = 3;

/** The least time a rolled-back release gets to pass `hearth health`. */
export const ROLLBACK_HEALTH_TIMEOUT_S = 60;

/** One `--firmware DEVICE=FILE`: the device's id in the board's configuration and the Intel HEX file. */
export interface FirmwareImageArg {
  readonly device: string;
  readonly file: string;
}

/** What every host's deploy shares. */
export interface DeployContext {
  readonly release: LocalRelease;
  readonly ssh: SshSettings;
  readonly dryRun: boolean;
  readonly healthTimeoutS: number;
  /** Firmware images to write once the release is healthy (`--firmware DEVICE=FILE`), checked already. */
  readonly firmware: readonly FirmwareImageArg[];
  /** Aborted on Ctrl-C: a board not yet switched stops there; one already switched finishes or rolls back. */
  readonly signal: AbortSignal;
  /** Reports a host's current step; `transient` ones (upload percentages) only on a terminal. */
  readonly report: (text: string, transient?: boolean) => void;
}

/** Deploys the release to one host and says how it went; never throws. */
export async function deployHost(target: HostTarget, ctx: DeployContext): Promise<HostResult> {
  const started = performance.now();
  const versions: { oldVersion?: string; newVersion?: string } = { newVersion: ctx.release.version };
  const done = (outcome: HostResult["outcome"], detail: string, plan?: string[]): HostResult => ({
    host: target.label,
    ...versions,
    outcome,
    detail,
    seconds: (performance.now() - started) / 1000,
    ...(plan === undefined ? {} : { plan }),
  });
  try {
    return await deploySteps(target, ctx, versions, done);
  } catch (err) {
    const message = isDeployError(err) ? err.message : `unexpected error: ${(err as Error)?.stack ?? String(err)}`;
    return done("failed", message);
  }
}

type Done = (outcome: HostResult["outcome"], detail: string, plan?: string[]) => HostResult;

async function deploySteps(target: HostTarget, ctx: DeployContext, versions: { oldVersion?: string; newVersion?: string }, done: Done): Promise<HostResult> {
  const ssh = new Ssh({ destination: target.destination, settings: ctx.ssh, ...(target.path === undefined ? {} : { pathPrefix: target.path }) });
  ctx.report("connecting");
  await ssh.start();
  try {
    return await stepsOnBoard(ssh, target, ctx, versions, done);
  } finally {
    await ssh.stop();
  }
}

async function stepsOnBoard(ssh: Ssh, target: HostTarget, ctx: DeployContext, versions: { oldVersion?: string; newVersion?: string }, done: Done): Promise<HostResult> {
  const layout = layoutOf(target.root);
  const version = ctx.release.version;

  ctx.report("reading the board's architecture and release");
  const board = await probeBoard(ssh, layout);
  versions.oldVersion = board.currentVersion ?? board.currentRelease ?? "none";
  const binary = await binaryFor(board, ctx.release);
  const config = target.config === undefined ? undefined : Bun.file(target.config);
  if (config !== undefined && !(await config.exists())) throw new DeployError("USAGE", `config ${target.config} does not exist`);
  const serviceCmd = target.serviceCmd ?? defaultServiceCmd(board.uid);
  const dir = join(layout.releases, version);
  const found = await releaseOnBoard(ssh, dir);
  const configSha = config === undefined ? undefined : await sha256Of(config);

  if (board.currentRelease === version) {
    if (found.binarySha === binary.sha256 && (configSha === undefined || configSha === found.configSha)) {
      if (ctx.dryRun) return done("unchanged", `${version} is already current (dry run: health not checked)`);
      // Already switched, maybe by a deploy that was interrupted before its health check: check it now.
      ctx.report(`${version} is already current; checking hearth health`);
      await waitHealthy(ssh, layout, board.currentVersion ?? version, ctx.healthTimeoutS, { ...(target.node === undefined ? {} : { node: target.node }) });
      const firmware = await writeFirmware(ssh, layout, dir, ctx);
      return done(firmware === "" ? "unchanged" : "deployed", `${version} is already running, healthy${firmware}`);
    }
    throw new DeployError("RELEASE_IN_USE", `${version} is the running release but differs from this one; deploy the change as a new version`);
  }
  const previous = board.currentRelease;
  if (ctx.dryRun)
    return done(
      "planned",
      "nothing changed (dry run)",
      plan({ board, binary, found, layout, version, previous, config: target.config, serviceCmd, healthTimeoutS: ctx.healthTimeoutS, firmware: ctx.firmware }),
    );

  await lockBoard(ssh, layout, `${hostname()} pid ${process.pid} since ${new Date().toISOString()}`);
  try {
    return await install({ ssh, layout, board, binary, found, config, serviceCmd, ctx, versions, done, node: target.node });
  } finally {
    await unlockBoard(ssh, layout).catch(() => {});
  }
}

/** Uploads, checks, switches, restarts and checks health, rolling back if it fails; the board is locked. */
async function install(args: {
  ssh: Ssh;
  layout: Layout;
  board: BoardState;
  binary: LocalBinary;
  found: ReleaseOnBoard;
  config: Blob | undefined;
  serviceCmd: string;
  ctx: DeployContext;
  versions: { oldVersion?: string; newVersion?: string };
  done: Done;
  /** The node_id the fleet file names the board by, checked in its health answer. */
  node: string | undefined;
}): Promise<HostResult> {
  const { ssh, layout, board, binary, found, config, serviceCmd, ctx, done } = args;
  const version = ctx.release.version;
  const dir = join(layout.releases, version);
  const previous = board.currentRelease;
  // The board was read before the lock was taken: make sure no other deploy moved it in between.
  const now = await probeBoard(ssh, layout);
  if (now.currentRelease !== previous) throw new DeployError("BOARD_LOCKED", `another deploy switched this board to ${now.currentRelease ?? "nothing"} meanwhile; run again`);
  ctx.report(`uploading ${binary.arch} binary (${mb(binary.size)})`);
  const upload: UploadResult = await uploadBinary(ssh, dir, binary, found, (sent) => ctx.report(`uploading ${binary.arch} binary: ${mb(sent)} of ${mb(binary.size)}`, true));
  ctx.report(
    upload.kind === "present" ? "binary already there (checksum matches)" : upload.kind === "resumed" ? `upload resumed at ${mb(upload.from)}, checksum verified` : "uploaded, checksum verified",
  );
  await installConfig(ssh, layout, dir, config);
  const newVersion = await binaryVersion(ssh, dir);
  args.versions.newVersion = newVersion;
  ctx.report(`checking the config with hearth ${newVersion}`);
  await checkConfig(ssh, dir);

  if (ctx.signal.aborted) throw new DeployError("INTERRUPTED", `interrupted before switching: ${version} is uploaded and checked but not switched to, ${previous ?? "nothing"} still runs`);
  ctx.report(`switching current to ${version}, restarting (${serviceCmd} restart hearth)`);
  await switchCurrent(ssh, layout, version, previous);
  try {
    await restartService(ssh, serviceCmd);
    ctx.report(`waiting up to ${ctx.healthTimeoutS} s for hearth health`);
    await waitHealthy(ssh, layout, newVersion, ctx.healthTimeoutS, { ...(args.node === undefined ? {} : { node: args.node }) });
  } catch (err) {
    if (!isDeployError(err)) throw err;
    return rollBack({ ssh, layout, serviceCmd, previous, failed: version, oldVersion: board.currentVersion, ctx, reason: err.message, done });
  }
  const removed = await pruneReleases(ssh, layout, [version, ...(previous === undefined ? [] : [previous])], KEEP_RELEASES);
  const firmware = await writeFirmware(ssh, layout, dir, ctx);
  return done("deployed", `${removed.length > 0 ? `removed old release(s) ${removed.join(", ")}` : ""}${firmware}`.replace(/^; /, ""));
}

/**
 * Writes the firmware images the deploy carries, after the release passed its health check (a release
 * that fails it is rolled back, and no image is written). A device whose update fails (hearth rolls it
 * back) fails the board's deploy with why; the release stays, healthy. Resolves with what to add to the detail.
 */
async function writeFirmware(ssh: Ssh, layout: Layout, dir: string, ctx: DeployContext): Promise<string> {
  const said: string[] = [];
  for (const { device, file } of ctx.firmware) {
    ctx.report(`writing ${file} to ${device} (hearth firmware)`);
    try {
      said.push(await updateFirmware(ssh, layout, dir, device, Bun.file(file)));
    } catch (err) {
      if (!isDeployError(err, "FIRMWARE_FAILED")) throw err;
      throw new DeployError("FIRMWARE_FAILED", `${ctx.release.version} runs, healthy; but ${err.message}`, { cause: err });
    }
  }
  return said.map((s) => `; ${s}`).join("");
}

/** The binary for the board's architecture; a board it does not fit is refused before anything changes. */
async function binaryFor(board: BoardState, release: LocalRelease): Promise<LocalBinary> {
  const arch = archOf(board.machine);
  if (typeof arch !== "string") throw new DeployError("UNSUPPORTED_ARCH", `refused, nothing changed: ${arch.refused}`);
  try {
    return await release.binary(arch);
  } catch (err) {
    if (!isDeployError(err, "RELEASE_MISSING")) throw err;
    throw new DeployError("UNSUPPORTED_ARCH", `refused, nothing changed: the board is ${board.machine} and ${err.message}`, { cause: err });
  }
}

/** Points `current` back at the previous release, restarts it and checks that it is healthy again. */
async function rollBack(args: {
  ssh: Ssh;
  layout: Layout;
  serviceCmd: string;
  previous: string | undefined;
  failed: string;
  oldVersion: string | undefined;
  ctx: DeployContext;
  reason: string;
  done: Done;
}): Promise<HostResult> {
  const { ssh, layout, serviceCmd, previous, ctx, reason, done } = args;
  if (previous === undefined) return done("failed", `${reason}; no previous release to roll back to`);
  ctx.report(`${reason}; rolling back to ${previous}`);
  try {
    await switchCurrent(ssh, layout, previous, undefined);
    await restartService(ssh, serviceCmd);
    // Going back to a release that ran before deserves a fair wait even when the new one had a short one.
    await waitHealthy(ssh, layout, args.oldVersion ?? previous, Math.max(ctx.healthTimeoutS, ROLLBACK_HEALTH_TIMEOUT_S));
  } catch (err) {
    if (!isDeployError(err)) throw err;
    return done("failed", `${reason}; ROLLBACK to ${previous} FAILED too: ${err.message}`);
  }
  await pruneReleases(ssh, layout, [previous, args.failed], KEEP_RELEASES).catch(() => []);
  return done("rolled back", `${reason}; ${previous} is running again and healthy`);
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/** What a dry run would do, one step a line. */
function plan(p: {
  board: BoardState;
  binary: LocalBinary;
  found: ReleaseOnBoard;
  layout: Layout;
  version: string;
  previous: string | undefined;
  config: string | undefined;
  serviceCmd: string;
  healthTimeoutS: number;
  firmware: readonly FirmwareImageArg[];
}): string[] {
  const dir = join(p.layout.releases, p.version);
  const upload =
    p.found.binarySha === p.binary.sha256
      ? `keep ${dir}/hearth (already there, checksum matches)`
      : p.found.partSize !== undefined
        ? `upload ${p.binary.path} to ${dir}/hearth.part (${mb(p.found.partSize)} there already: continued if it matches, redone if not), verify sha256 ${p.binary.sha256.slice(0, 12)}… on the board`
        : `upload ${p.binary.path} (${mb(p.binary.size)}) to ${dir}/hearth.part, verify sha256 ${p.binary.sha256.slice(0, 12)}… on the board`;
  const kept = [p.version, ...(p.previous === undefined ? [] : [p.previous])];
  const listing = p.board.releases.includes(p.version) ? p.board.releases : [p.version, ...p.board.releases];
  const remove = releasesToRemove(listing, kept, KEEP_RELEASES);
  return [
    `board: ${p.board.machine} (${p.binary.arch}), current release ${p.previous ?? "none"} (hearth ${p.board.currentVersion ?? "not installed"})`,
    upload,
    p.config === undefined ? `copy the board's ${p.layout.etcConfig} into ${dir}/hearth.yaml` : `upload ${p.config} to ${dir}/hearth.yaml`,
    `run ${dir}/hearth check-config --config ${dir}/hearth.yaml`,
    `point ${p.layout.current} at releases/${p.version} and run \`${p.serviceCmd} restart hearth\``,
    `wait up to ${p.healthTimeoutS} s for hearth health; ${p.previous === undefined ? "no previous release to roll back to" : `roll back to ${p.previous} if it fails`}`,
    ...p.firmware.map((f) => `then upload ${f.file} to ${dir}/firmware/${f.device}.hex and write it to ${f.device} (hearth firmware; it rolls the device back if the image does not say hello)`),
    remove.length > 0 ? `remove old release(s) ${remove.join(", ")}` : `keep all releases (${KEEP_RELEASES} at most)`,
  ];
}
