#!/usr/bin/env bun
/**
 * deploy/deploy: installs a built hearth release on boards over SSH, at most N at once, with a
 * health check and an automatic rollback per board. See `deploy/deploy --help`.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { isHearthError } from "../src/core/errors.ts";
import { readFirmwareFile } from "../src/engine/firmware/image-file.ts";
import { FIRMWARE_REQUEST_LIMIT } from "../src/mqtt/payloads.ts";
import { VERSION } from "../src/version.ts";
import { type DeployContext, deployHost, type FirmwareImageArg } from "./lib/deploy-host.ts";
import { DeployError, isDeployError } from "./lib/errors.ts";
import { type HostTarget, hostFromArgument, readFleet } from "./lib/fleet.ts";
import { eachLimited } from "./lib/pool.ts";
import { type HostResult, Progress, succeeded, summaryTable } from "./lib/progress.ts";
import { checksumName, checkVersion, LocalRelease } from "./lib/release.ts";
import type { SshSettings } from "./lib/ssh.ts";

const USAGE = `Usage: deploy/deploy [options] user@host[:port]…
       deploy/deploy [options] --fleet FILE

Installs dist/hearth-<version>-linux-<arch> (made by deploy/build) on each board under
/opt/hearth/releases/<version>, checks the config with the new binary, switches /opt/hearth/current,
restarts the service, waits for \`hearth health\` and rolls back to the previous release if it fails.

Options:
  --fleet FILE            hosts from a file: one user@host[:port] a line (# comments), or YAML
                          with per-host config, root, service_cmd and path
  --parallel N            boards deployed at once (default 4)
  --dry-run               connect and read each board, print what would be done, change nothing
  --config FILE           hearth.yaml to install (default: carry over the board's current one)
  --version V             release to deploy (default ${VERSION})
  --dist DIR              where the built binaries and checksum file are (default: dist/)
  --health-timeout S      seconds to wait for \`hearth health\` after a restart (default 60)
  --firmware DEVICE=FILE  once the release is healthy, write FILE (Intel HEX) to DEVICE's firmware with
                          \`hearth firmware\` on the board (repeatable; DEVICE as in the board's config)
  --root PREFIX           prefix of every path on the boards (default /)
  --service-cmd CMD       service manager on the boards, called as \`CMD restart hearth\`
                          (default: systemctl as root, sudo -n systemctl otherwise)
  --ssh-config FILE       ssh config file (ssh -F); default: your ~/.ssh/config
  --ssh-option KEY=VALUE  extra ssh -o option (repeatable)
  --connect-timeout S     ssh ConnectTimeout (default 10)
  --accept-new-host-keys  trust host keys seen for the first time (StrictHostKeyChecking=accept-new);
                          without it a host missing from known_hosts fails
  -h, --help              show this help

Exit code: 0 when every board succeeded (or is unchanged), 1 when any failed, 2 on bad usage
or a release that is not built.
`;

/** The command line, read. */
interface Invocation {
  readonly hosts: HostTarget[];
  readonly parallel: number;
  readonly dryRun: boolean;
  readonly version: string;
  readonly dist: string;
  readonly healthTimeoutS: number;
  readonly firmware: readonly FirmwareImageArg[];
  readonly ssh: SshSettings;
}

async function parseInvocation(argv: string[]): Promise<Invocation | "help"> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        fleet: { type: "string" },
        parallel: { type: "string" },
        "dry-run": { type: "boolean" },
        config: { type: "string" },
        version: { type: "string" },
        dist: { type: "string" },
        "health-timeout": { type: "string" },
        firmware: { type: "string", multiple: true },
        root: { type: "string" },
        "service-cmd": { type: "string" },
        "ssh-config": { type: "string" },
        "ssh-option": { type: "string", multiple: true },
        "connect-timeout": { type: "string" },
        "accept-new-host-keys": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new DeployError("USAGE", (err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return "help";
  const number = (name: string, text: string | undefined, fallback: number, min: number) => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isFinite(n) || n < min) throw new DeployError("USAGE", `--${name} expects a number of at least ${min}, got "${text}"`);
    return n;
  };
  const listed = positionals.map(hostFromArgument);
  const fleet = values.fleet === undefined ? [] : await readFleet(values.fleet);
  // Command-line settings are the defaults; a fleet entry's own settings win.
  const defaults = {
    ...(values.config === undefined ? {} : { config: resolve(values.config) }),
    ...(values.root === undefined ? {} : { root: values.root }),
    ...(values["service-cmd"] === undefined ? {} : { serviceCmd: values["service-cmd"] }),
  };
  const hosts = [...listed, ...fleet].map((h) => ({ ...defaults, ...h }));
  if (hosts.length === 0) throw new DeployError("USAGE", "no hosts: name them (user@host[:port]) or give --fleet FILE");
  return {
    hosts,
    parallel: Math.floor(number("parallel", values.parallel, 4, 1)),
    dryRun: values["dry-run"] === true,
    version: checkVersion(values.version ?? VERSION),
    dist: resolve(values.dist ?? resolve(import.meta.dir, "..", "dist")),
    healthTimeoutS: number("health-timeout", values["health-timeout"], 60, 1),
    firmware: await firmwareArgs(values.firmware ?? []),
    ssh: {
      ...(values["ssh-config"] === undefined ? {} : { configFile: resolve(values["ssh-config"]) }),
      options: values["ssh-option"] ?? [],
      acceptNewHostKeys: values["accept-new-host-keys"] === true,
      connectTimeoutS: number("connect-timeout", values["connect-timeout"], 10, 1),
    },
  };
}

/** The `--firmware DEVICE=FILE` images, each file read and checked as Intel HEX before any board is touched. */
async function firmwareArgs(args: string[]): Promise<FirmwareImageArg[]> {
  const images: FirmwareImageArg[] = [];
  for (const arg of args) {
    const m = /^([A-Za-z0-9_-]+)=(.+)$/.exec(arg);
    if (m === null) throw new DeployError("USAGE", `--firmware expects DEVICE=FILE.hex, got "${arg}"`);
    const [, device, file] = m as unknown as [string, string, string];
    if (images.some((i) => i.device === device)) throw new DeployError("USAGE", `--firmware names ${device} twice`);
    await readFirmwareFile(file, FIRMWARE_REQUEST_LIMIT).catch((err: unknown) => {
      if (!isHearthError(err, "DEVICE_FIRMWARE_FILE_REFUSED")) throw err;
      throw new DeployError("USAGE", `--firmware ${device}=${file}: ${err.message}`, { cause: err });
    });
    images.push({ device, file: resolve(file) });
  }
  return images;
}

/** Deploys to every host, at most `parallel` at once, and prints progress and the summary. */
export async function deploy(invocation: Invocation, io: { write: (text: string) => void; tty: boolean; signal: AbortSignal }): Promise<HostResult[]> {
  const { write, tty, signal } = io;
  const release = new LocalRelease({ dist: invocation.dist, version: invocation.version });
  const progress = new Progress({ write, tty, hosts: invocation.hosts.map((h) => h.label) });
  const results: HostResult[] = invocation.hosts.map((h) => ({ host: h.label, outcome: "not started", detail: "interrupted", seconds: 0 }));
  write(`${invocation.dryRun ? "dry run: " : ""}deploying hearth ${invocation.version} to ${invocation.hosts.length} host(s), ${invocation.parallel} at once\n`);
  await eachLimited(
    invocation.hosts,
    invocation.parallel,
    async (host, i) => {
      const ctx: DeployContext = {
        release,
        ssh: invocation.ssh,
        dryRun: invocation.dryRun,
        healthTimeoutS: invocation.healthTimeoutS,
        firmware: invocation.firmware,
        signal,
        report: (text, transient) => progress.update(i, text, transient),
      };
      const result = await deployHost(host, ctx);
      results[i] = result;
      progress.update(i, `${result.outcome}${result.detail === "" ? "" : `: ${result.detail}`}`);
    },
    signal,
  );
  for (const r of results) {
    if (r.plan === undefined) continue;
    write(`\n${r.host} (dry run) would:\n${r.plan.map((step) => `  - ${step}\n`).join("")}`);
  }
  write(`\n${summaryTable(results)}`);
  return results;
}

async function main(argv: string[]): Promise<number> {
  let invocation;
  try {
    invocation = await parseInvocation(argv);
  } catch (err) {
    if (!isDeployError(err)) throw err;
    process.stderr.write(`deploy: ${err.message}\n${err.code === "USAGE" ? "(deploy/deploy --help lists the options)\n" : ""}`);
    return 2;
  }
  if (invocation === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  const sums = join(invocation.dist, checksumName(invocation.version));
  if (!existsSync(sums)) {
    process.stderr.write(`deploy: ${sums} is missing: build the release first (deploy/build --version ${invocation.version}), or point --dist at it\n`);
    return 2;
  }
  // Lines redrawn in place need every host on screen at once; a longer fleet gets plain lines.
  const tty = process.stdout.isTTY === true && invocation.hosts.length < (process.stdout.rows || 24) - 1;
  // First Ctrl-C: start no more boards, and stop those not yet switched; a board already switched
  // finishes its health check (or rolls back), so none is left between releases. Second: quit now.
  const interrupt = new AbortController();
  const onSignal = () => {
    if (interrupt.signal.aborted) process.exit(130);
    interrupt.abort();
    process.stderr.write("\ndeploy: interrupted: no more boards start; boards already switched finish or roll back (again to quit now)\n");
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const results = await deploy(invocation, { write: (text) => process.stdout.write(text), tty, signal: interrupt.signal });
  return results.every((r) => succeeded(r.outcome)) ? 0 : 1;
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`deploy: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
