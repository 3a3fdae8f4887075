/**
 * deploy/flash: installs hearth onto a board's SD card mounted on this machine, the way a Raspberry Pi OS
 * card is prepared on a laptop. Everything is written into the mounted tree and nothing from it is run:
 * the binary as a release with a `current` link, the configuration (validated first), the MQTT password,
 * the `hearth` system user in `dialout`, and the systemd unit, enabled. Every check runs before the
 * first write, so a refused card is left exactly as it was.
 */
import { readFileSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { builtInCatalogue } from "../src/catalogue.ts";
import { ConfigError, loadCheckedConfig } from "../src/config/load.ts";
import type { Config } from "../src/config/schema.ts";
import { VERSION } from "../src/version.ts";
import { binaryName, checksumName, parseSums, sha256Of } from "./lib/release.ts";
import { type AccountPlan, applyAccounts, planAccounts } from "./rootfs/accounts.ts";
import { type Arch, describeArch, fileElfArch, treeArch } from "./rootfs/arch.ts";
import { applyBoot, type BootPlan, planBoot } from "./rootfs/boot.ts";
import { FlashError, isFlashError } from "./rootfs/errors.ts";
import { type Ownership, RootTree } from "./rootfs/tree.ts";

const HERE = import.meta.dir;
const UNIT = join(HERE, "hearth.service");
const ROOT_OWNED = { uid: 0, gid: 0 };

/** What to install, as given on the command line. */
export interface FlashOptions {
  /** The mounted root partition. */
  readonly rootfs: string;
  /** The mounted boot partition of a Raspberry Pi (optional). */
  readonly boot?: string;
  readonly config: string;
  /** The binary; dist/hearth-<version>-linux-<arch> for the card's architecture when omitted. */
  readonly binary?: string;
  readonly version?: string;
  /** A file holding the MQTT password, installed where the config's mqtt.password_file says. */
  readonly secrets?: string;
  /** Turn the Pi's GPIO UART on for a device (needs `boot`). */
  readonly enableUart?: boolean;
  /** Where deploy/build put the binaries (dist/ of this checkout by default). */
  readonly dist?: string;
}

/** What was installed. */
export interface FlashResult {
  readonly version: string;
  readonly arch: Arch;
  readonly uid: number;
  readonly gid: number;
  /** Paths written, inside the tree (and on the boot partition). */
  readonly written: readonly string[];
}

interface Plan {
  readonly tree: RootTree;
  readonly system: string;
  readonly arch: Arch;
  readonly version: string;
  readonly binary: string;
  readonly binaryNote: string;
  readonly config: Config;
  readonly secrets?: { readonly source: string; readonly target: string };
  readonly accounts: AccountPlan;
  readonly boot?: BootPlan;
  readonly notes: readonly string[];
}

/** Checks everything, then installs; throws a FlashError, with nothing written, when the card or the inputs are wrong. */
export async function flash(options: FlashOptions, print: (line: string) => void = console.log): Promise<FlashResult> {
  const plan = await makePlan(options);
  print(`deploy/flash: hearth ${plan.version} onto ${plan.tree.root}: ${plan.system}, ${describeArch({ arch: plan.arch })}`);
  for (const note of plan.notes) print(`  note: ${note}`);
  if (process.getuid?.() !== 0) throw new FlashError("NOT_ROOT", "run deploy/flash as root (sudo): the card's files must belong to root and to the hearth user");
  const written: string[] = [];
  try {
    return install(plan, options, print, written);
  } catch (err) {
    const what = written.length === 0 ? "before writing anything" : `after writing ${written.join(", ")}`;
    throw new FlashError("INSTALL_FAILED", `installing failed ${what}: ${(err as Error).message}; run it again once that is fixed`, { cause: err });
  }
}

async function makePlan(options: FlashOptions): Promise<Plan> {
  if (options.enableUart && options.boot === undefined) throw new FlashError("USAGE", "--enable-uart needs --boot <mounted boot partition>");
  const tree = checkRootfs(options.rootfs);
  const found = treeArch(tree);
  if (found === undefined) throw new FlashError("NOT_A_ROOTFS", `${tree.root}: cannot tell its architecture (no ELF /bin/sh, no var/lib/dpkg/arch)`);
  if ("other" in found.arch) {
    throw new FlashError(
      "UNSUPPORTED_ARCH",
      `${tree.root} is a ${found.arch.other} system (from ${found.from}); hearth needs a 64-bit OS: it is built for aarch64 and x86_64 only (Bun has no 32-bit ARM build)`,
    );
  }
  const arch = found.arch.arch;
  const config = await checkConfig(options.config);
  const notes: string[] = [];
  const secrets = checkSecrets(tree, config, options.secrets, notes);
  const { binary, version, binaryNote } = await checkBinary(options, arch, found.from);
  const boot = options.boot === undefined ? undefined : planBoot(resolve(options.boot), { enableUart: options.enableUart ?? false });
  notes.push(...(boot?.notes ?? []));
  const accounts = planAccounts(tree);
  return { tree, system: osName(tree), arch, version, binary, binaryNote, config, secrets, accounts, boot, notes };
}

function checkRootfs(rootfs: string): RootTree {
  const stat = statSync(rootfs, { throwIfNoEntry: false });
  if (!stat?.isDirectory()) throw new FlashError("NOT_A_ROOTFS", `${rootfs} is not a folder: give the mounted root partition of the card`);
  const root = realpathSync(rootfs);
  if (root === "/") throw new FlashError("NOT_A_ROOTFS", "--rootfs is this machine's own root (/): give the mounted root partition of the card");
  const tree = new RootTree(root);
  const missing: string[] = [];
  if (!tree.isFile("/etc/os-release") && !tree.isFile("/usr/lib/os-release")) missing.push("etc/os-release (nor usr/lib/os-release)");
  if (!tree.isFile("/etc/passwd")) missing.push("etc/passwd");
  if (!tree.isFile("/etc/group")) missing.push("etc/group");
  if (!tree.exists("/bin/sh")) missing.push("bin/sh");
  if (missing.length > 0) throw new FlashError("NOT_A_ROOTFS", `${root} does not look like a Linux root filesystem: no ${missing.join(", no ")}`);
  return tree;
}

function osName(tree: RootTree): string {
  const text = tree.readText("/etc/os-release") ?? tree.readText("/usr/lib/os-release") ?? "";
  return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text)?.[1] ?? "Linux";
}

async function checkConfig(file: string): Promise<Config> {
  try {
    return await loadCheckedConfig(file, builtInCatalogue().names());
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new FlashError("CONFIG_INVALID", `${err.file ?? file}: invalid\n${err.problems.map((p) => `  ${p}`).join("\n")}`, { cause: err });
  }
}

function checkSecrets(tree: RootTree, config: Config, source: string | undefined, notes: string[]): Plan["secrets"] {
  const target = config.mqtt.password_file;
  if (source === undefined) {
    if (target !== undefined && !tree.isFile(target)) notes.push(`the config names mqtt.password_file ${target}, which is not on the card: pass --secrets FILE to install it`);
    if (config.mqtt.password !== undefined)
      notes.push("the config holds mqtt.password itself: it is installed readable by root and hearth only, but a password_file (--secrets) keeps it out of the config");
    return undefined;
  }
  if (target === undefined) throw new FlashError("SECRETS", "--secrets needs mqtt.password_file in the config (for example /etc/hearth/mqtt-password): that is where hearth reads it");
  if (!isAbsolute(target)) throw new FlashError("SECRETS", `mqtt.password_file must be an absolute path on the board, not ${target}`);
  if (!statSync(source, { throwIfNoEntry: false })?.isFile()) throw new FlashError("SECRETS", `--secrets ${source}: no such file`);
  return { source: resolve(source), target };
}

async function checkBinary(options: FlashOptions, arch: Arch, archFrom: string): Promise<{ binary: string; version: string; binaryNote: string }> {
  let version = options.version;
  let binary = options.binary;
  if (binary === undefined) {
    version ??= VERSION;
    binary = join(options.dist ?? join(HERE, "..", "dist"), binaryName(version, arch));
    if (!statSync(binary, { throwIfNoEntry: false })?.isFile()) throw new FlashError("BINARY_MISSING", `${binary} is missing: build it with deploy/build (or pass --binary)`);
  } else {
    if (!statSync(binary, { throwIfNoEntry: false })?.isFile()) throw new FlashError("BINARY_MISSING", `--binary ${binary}: no such file`);
    version ??= /^hearth-(.+)-linux-(?:x64|arm64)$/.exec(basename(binary))?.[1];
    if (version === undefined) throw new FlashError("USAGE", `cannot tell the version from the name ${basename(binary)}: pass --version`);
  }
  if (!/^[0-9A-Za-z][0-9A-Za-z._+-]*$/.test(version)) throw new FlashError("USAGE", `version "${version}" has characters a release folder cannot have`);
  const binaryArch = fileElfArch(binary);
  if (binaryArch === undefined) throw new FlashError("BINARY_MISSING", `${binary} is not an ELF executable`);
  if (!("arch" in binaryArch) || binaryArch.arch !== arch) {
    throw new FlashError(
      "ARCH_MISMATCH",
      `${binary} is built for ${describeArch(binaryArch)}, but the card's system is ${describeArch({ arch })} (from ${archFrom}): use ${binaryName(version, arch)}`,
    );
  }
  const sumsFile = join(dirname(binary), checksumName(version));
  if (!statSync(sumsFile, { throwIfNoEntry: false })?.isFile()) return { binary, version, binaryNote: "no checksum file beside it: not verified" };
  const listed = parseSums(readFileSync(sumsFile, "utf8")).get(basename(binary));
  if (listed === undefined) return { binary, version, binaryNote: `not listed in ${basename(sumsFile)}: not verified` };
  const actual = await sha256Of(Bun.file(binary));
  if (actual !== listed) throw new FlashError("CHECKSUM_MISMATCH", `${binary} does not match ${sumsFile} (sha256 ${actual}, listed ${listed}): rebuild it`);
  return { binary, version, binaryNote: `sha256 ${actual.slice(0, 16)}… matches ${basename(sumsFile)}` };
}

function install(plan: Plan, options: FlashOptions, print: (line: string) => void, written: string[]): FlashResult {
  const { tree, accounts } = plan;
  const { uid, gid } = accounts;
  const show = (path: string, o: Ownership | undefined, what: string) => {
    written.push(path);
    const owner = o === undefined ? "" : `${o.mode.toString(8).padStart(4, "0")} ${idName(tree, "/etc/passwd", o.uid)}:${idName(tree, "/etc/group", o.gid)}  `;
    print(`  ${path.padEnd(58)} ${owner}${what}`);
  };

  for (const path of applyAccounts(tree, accounts)) show(path, tree.ownershipOf(path), "accounts");
  for (const change of accounts.changes) print(`    ${change}`);
  const home = { mode: 0o750, uid, gid };
  tree.ensureDir(accounts.home, home);
  show(accounts.home, home, "hearth's home and state directory (StateDirectory=hearth)");

  // /etc/hearth: hearth reads it, only root changes it, nobody else sees the password inside.
  const etc = { mode: 0o750, ...ROOT_OWNED, gid };
  tree.ensureDir("/etc/hearth", etc);
  show("/etc/hearth", etc, "");
  const configOwnership = { mode: 0o640, ...ROOT_OWNED, gid };
  tree.copyFile("/etc/hearth/hearth.yaml", resolve(options.config), configOwnership);
  show("/etc/hearth/hearth.yaml", configOwnership, `from ${options.config} (valid: ${plan.config.devices.length} device(s))`);
  if (plan.secrets !== undefined) {
    const secret = { mode: 0o600, uid, gid };
    tree.ensureDir(dirname(plan.secrets.target));
    tree.copyFile(plan.secrets.target, plan.secrets.source, secret);
    show(plan.secrets.target, secret, "mqtt.password_file");
  }

  const bin = { mode: 0o755, ...ROOT_OWNED };
  tree.ensureDir("/opt/hearth/releases", bin);
  const release = `/opt/hearth/releases/${plan.version}`;
  tree.ensureDir(release, bin);
  tree.copyFile(`${release}/hearth`, plan.binary, bin);
  show(`${release}/hearth`, bin, plan.binaryNote);
  tree.symlink("/opt/hearth/current", `releases/${plan.version}`);
  show("/opt/hearth/current", undefined, `-> releases/${plan.version}`);
  // On the PATH, so that `hearth health` (or check-config) works when you log in to the board.
  tree.ensureDir("/usr/local/bin");
  tree.symlink("/usr/local/bin/hearth", "/opt/hearth/current/hearth");
  show("/usr/local/bin/hearth", undefined, "-> /opt/hearth/current/hearth");

  const unit = readFileSync(UNIT, "utf8");
  const unitOwnership = { mode: 0o644, ...ROOT_OWNED };
  tree.ensureDir("/etc/systemd/system");
  tree.writeFile("/etc/systemd/system/hearth.service", unit, unitOwnership);
  show("/etc/systemd/system/hearth.service", unitOwnership, "");
  const target = /^WantedBy=(\S+)/m.exec(unit)?.[1] ?? "multi-user.target";
  tree.ensureDir(`/etc/systemd/system/${target}.wants`);
  tree.symlink(`/etc/systemd/system/${target}.wants/hearth.service`, "/etc/systemd/system/hearth.service");
  show(`/etc/systemd/system/${target}.wants/hearth.service`, undefined, "-> /etc/systemd/system/hearth.service (enabled)");

  if (plan.boot !== undefined && options.boot !== undefined) for (const path of applyBoot(resolve(options.boot), plan.boot)) show(path, undefined, "boot partition");
  print(`Done: hearth ${plan.version} starts on the board's next boot as the hearth user (uid ${uid}, gid ${gid}, in dialout).`);
  return { version: plan.version, arch: plan.arch, uid, gid, written };
}

/** The name the tree's passwd or group gives an id (the card's names, not this machine's). */
function idName(tree: RootTree, file: "/etc/passwd" | "/etc/group", id: number): string {
  const line = (tree.readText(file) ?? "").split("\n").find((l) => l.split(":")[2] === String(id));
  return line?.split(":")[0] ?? String(id);
}

const USAGE = `Usage: deploy/flash --rootfs DIR --config hearth.yaml [--boot DIR [--enable-uart]] [--binary PATH | --dist DIR] [--version V] [--secrets FILE]

Installs hearth into an SD card's mounted root partition, without running anything from it:
  --rootfs DIR      the mounted root partition (e.g. /media/$USER/rootfs)
  --config FILE     hearth.yaml, validated first; installed as /etc/hearth/hearth.yaml
  --binary PATH     the hearth binary (default: dist/hearth-<version>-linux-<arch> for the card's architecture)
  --version V       the release's version (default: from the binary's name, or this checkout's)
  --dist DIR        where deploy/build put the binaries, when --binary is not given (default: dist/)
  --secrets FILE    the MQTT password, installed at the config's mqtt.password_file (mode 0600, owner hearth)
  --boot DIR        the mounted boot partition of a Raspberry Pi (only looked at, unless --enable-uart)
  --enable-uart     turn the Pi's GPIO UART on for a device: enable_uart=1, no serial login console
Run it as root (sudo). Exit codes: 0 installed, 1 refused, 2 bad usage or an invalid configuration.
`;

/** The command line: exit 0 installed, 1 refused, 2 bad usage or configuration. */
export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        rootfs: { type: "string" },
        boot: { type: "string" },
        config: { type: "string" },
        binary: { type: "string" },
        version: { type: "string" },
        secrets: { type: "string" },
        dist: { type: "string" },
        "enable-uart": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (err) {
    process.stderr.write(`deploy/flash: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.rootfs === undefined || values.config === undefined) {
    process.stderr.write(`deploy/flash: --rootfs and --config are required\n\n${USAGE}`);
    return 2;
  }
  try {
    await flash({ ...values, rootfs: values.rootfs, config: values.config, enableUart: values["enable-uart"] });
    return 0;
  } catch (err) {
    if (!isFlashError(err)) throw err;
    process.stderr.write(`deploy/flash: ${err.message}\n${err.code === "INSTALL_FAILED" ? "" : "Nothing was written.\n"}`);
    return err.code === "USAGE" || err.code === "CONFIG_INVALID" ? 2 : 1;
  }
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
