import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FileSink, Subprocess } from "bun";
import { parseDestination, type SshDestination } from "../../src/config/fleet-file.ts";
import { DeployError } from "./errors.ts";

export { parseDestination, type SshDestination };

/** How ssh is called, the same for every host of a run. */
export interface SshSettings {
  /** An ssh config file for `ssh -F` (the user's ~/.ssh/config otherwise). */
  readonly configFile?: string;
  /** Extra `-o KEY=VALUE` options, passed as given. */
  readonly options: readonly string[];
  /** `StrictHostKeyChecking=accept-new`: trust a host seen for the first time (a changed key still fails). */
  readonly acceptNewHostKeys: boolean;
  readonly connectTimeoutS: number;
}

/** What a remote command left: its exit code and output. */
export interface RemoteResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of one remote command. */
export interface RunOptions {
  /** Sent to the command's standard input (a file slice is streamed). */
  readonly stdin?: Blob;
  /** Called with the bytes of `stdin` sent so far. */
  readonly onSent?: (bytes: number) => void;
  readonly signal?: AbortSignal;
}

/** `user@host:port` as the person wrote it, for progress and the summary. */
export function formatDestination(d: SshDestination): string {
  const host = d.host.includes(":") ? `[${d.host}]` : d.host;
  return `${d.user === undefined ? "" : `${d.user}@`}${host}${d.port === undefined ? "" : `:${d.port}`}`;
}

/** Quotes a value for a POSIX shell: `'it'\''s'`. */
export function shq(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * Runs shell scripts on one board through the system's `ssh`, so the user's ssh config, agent and
 * known_hosts apply. BatchMode means nothing ever prompts: an unknown host key or a key that is
 * refused fails the host with a message saying which. After `start()` every command goes through one
 * master connection (ssh's ControlMaster, on a socket in a private temp folder) instead of a new
 * login each; `stop()` closes it.
 */
export class Ssh {
  readonly destination: SshDestination;
  readonly settings: SshSettings;
  /** Prepended to PATH on the board for every command (a fleet file's `path`). */
  readonly pathPrefix: string | undefined;
  private master: { proc: Subprocess<"pipe", "ignore", "pipe">; dir: string; socket: string } | undefined;

  constructor(deps: { destination: SshDestination; settings: SshSettings; pathPrefix?: string }) {
    this.destination = deps.destination;
    this.settings = deps.settings;
    this.pathPrefix = deps.pathPrefix;
  }

  /** Logs in once and keeps the connection for the commands that follow; throws why it could not. */
  async start(): Promise<void> {
    if (this.master !== undefined) return;
    const dir = mkdtempSync(join(tmpdir(), "hearth-ssh-"));
    const socket = join(dir, "control");
    // The master's own session reads our pipe: if deploy dies without stop(), the pipe closes, the
    // remote `cat` ends, and the master goes with it instead of lingering.
    const proc = Bun.spawn([...this.sshArgs(["-M", "-o", "ControlMaster=yes", "-o", "ControlPersist=no", "-S", socket]), "cat >/dev/null"], {
      stdin: "pipe",
      stdout: "ignore",
      stderr: "pipe",
    });
    this.master = { proc, dir, socket };
    const stderr = new Response(proc.stderr).text();
    const deadline = Date.now() + (this.settings.connectTimeoutS + 30) * 1000;
    while (!existsSync(socket)) {
      if (proc.exitCode !== null || proc.signalCode !== null || Date.now() > deadline) {
        await this.stop();
        throw sshFailure(formatDestination(this.destination), await stderr);
      }
      await Bun.sleep(20);
    }
  }

  /** Closes the master connection; safe to call twice. */
  async stop(): Promise<void> {
    const master = this.master;
    this.master = undefined;
    if (master === undefined) return;
    try {
      try {
        await master.proc.stdin.end();
      } catch {
        // The master is gone already (a failed login): nothing to close.
      }
      const exited = await Promise.race([master.proc.exited.then(() => true), Bun.sleep(5000).then(() => false)]);
      if (!exited) master.proc.kill("SIGTERM");
      await master.proc.exited;
    } finally {
      rmSync(master.dir, { recursive: true, force: true });
    }
  }

  /** The ssh command line that runs `remoteCommand` on the board. */
  command(remoteCommand: string): string[] {
    const shared = this.master === undefined ? [] : ["-S", this.master.socket, "-o", "ControlMaster=no"];
    return [...this.sshArgs(shared), remoteCommand];
  }

  private sshArgs(extra: string[]): string[] {
    const s = this.settings;
    const args = ["ssh", "-o", "BatchMode=yes", "-o", `ConnectTimeout=${s.connectTimeoutS}`, "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=3"];
    if (s.configFile !== undefined) args.push("-F", s.configFile);
    if (s.acceptNewHostKeys) args.push("-o", "StrictHostKeyChecking=accept-new");
    for (const option of s.options) args.push("-o", option);
    if (this.destination.port !== undefined) args.push("-p", String(this.destination.port));
    if (this.destination.user !== undefined) args.push("-l", this.destination.user);
    args.push(...extra);
    // `--` ends ssh's options, so a host named like an option cannot become one.
    args.push("--", this.destination.host);
    return args;
  }

  /** Runs `script` with `sh` on the board; ssh's own failures (exit 255) throw a DeployError. */
  async run(script: string, options: RunOptions = {}): Promise<RemoteResult> {
    const prefix = this.pathPrefix === undefined ? "" : `PATH=${shq(this.pathPrefix)}:"$PATH"; export PATH\n`;
    // The login shell runs this line; `sh -c` makes the script's dialect POSIX sh whatever that shell is.
    const proc = Bun.spawn(this.command(`sh -c ${shq(prefix + script)}`), {
      stdin: options.stdin === undefined ? "ignore" : "pipe",
      stdout: "pipe",
      stderr: "pipe",
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const sending = options.stdin === undefined ? Promise.resolve() : send(proc.stdin as FileSink, options.stdin, options.onSent);
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited, sending.catch(() => {})]);
    if (code === 255) throw sshFailure(formatDestination(this.destination), stderr);
    return { code, stdout, stderr };
  }

  /** Runs `script` and returns its standard output; a non-zero exit throws REMOTE_FAILED saying `what` failed. */
  async runOk(script: string, what: string, options: RunOptions = {}): Promise<string> {
    const result = await this.run(script, options);
    if (result.code !== 0) throw new DeployError("REMOTE_FAILED", `${what} failed (exit ${result.code}): ${lastLines(result.stderr || result.stdout)}`);
    return result.stdout;
  }
}

async function send(sink: FileSink, data: Blob, onSent?: (bytes: number) => void): Promise<void> {
  let sent = 0;
  try {
    for await (const chunk of data.stream()) {
      sink.write(chunk);
      await sink.flush();
      sent += chunk.byteLength;
      onSent?.(sent);
    }
  } finally {
    await sink.end();
  }
}

/** The last few lines of a command's output, for an error message. */
export function lastLines(text: string, count = 3): string {
  const lines = text
    .trim()
    .split("\n")
    .filter((l) => l.trim() !== "");
  return lines.slice(-count).join(" / ") || "(no output)";
}

/** Turns ssh's own error output into a DeployError that says what to do. */
function sshFailure(host: string, stderr: string): DeployError {
  const detail = lastLines(stderr.replace(/^Warning: Permanently added .*$/gm, ""));
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED/.test(stderr)) {
    return new DeployError(
      "SSH_HOST_KEY",
      `its host key has CHANGED since it was recorded in known_hosts; not connecting. If the board was reinstalled, remove the old key (ssh-keygen -R) and check the new one`,
    );
  }
  if (/Host key verification failed|No .*host key is known/i.test(stderr)) {
    return new DeployError(
      "SSH_HOST_KEY",
      `its host key is not in known_hosts, so it cannot be verified. Connect once with ssh and check the fingerprint, or pass --accept-new-host-keys to trust keys seen for the first time`,
    );
  }
  if (/Permission denied|Too many authentication failures/i.test(stderr)) {
    return new DeployError("SSH_AUTH", `ssh login as ${host} refused (${detail}); deploy uses your ssh agent and keys, and never prompts`);
  }
  return new DeployError("SSH_UNREACHABLE", `cannot connect (${detail})`);
}
