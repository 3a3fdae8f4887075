import { dirname, resolve } from "node:path";
import { z } from "zod";
import { HearthError } from "../core/errors.ts";

/**
 * A fleet file: the boards of a fleet, for deploy/deploy (where to log in, what to install) and for
 * `hearth fleet --fleet` (each board's `node`, its node_id). One `user@host[:port]` a line with `#`
 * comments, or YAML: a list of hosts, or `{ defaults, hosts }`, where a host can have settings of its own.
 */

/** Why a fleet file could not be used; the message names the file and the entry. */
export class FleetFileError extends HearthError<"FLEET_INVALID"> {
  override readonly name = "FleetFileError";
}

/** Where a board is reached: `user@host[:port]` (an IPv6 address in brackets: `pi@[fe80::1]:22`). */
export interface SshDestination {
  readonly user?: string;
  readonly host: string;
  readonly port?: number;
}

/** Settings a host can have of its own; deploy's command line gives the defaults. */
export interface HostSettings {
  /** hearth.yaml to install with the release (none: the board's current one is carried over). */
  readonly config?: string;
  /** Prefix of every path on the board (`/` on a real board). */
  readonly root?: string;
  /** The service manager command on the board, called as `<cmd> restart hearth`. */
  readonly serviceCmd?: string;
  /** Prepended to PATH on the board for every command deploy runs there. */
  readonly path?: string;
}

/** One board of a fleet. */
export interface FleetHost extends HostSettings {
  /** As written on the command line or in the fleet file. */
  readonly label: string;
  readonly destination: SshDestination;
  /**
   * The board's node_id as the fleet file names it (`node:`), the name `hearth fleet` lists it by: a
   * deploy fails, and its release is rolled back, when hearth there answers as another node.
   */
  readonly node?: string;
}

/** Parses `user@host[:port]`; undefined when it is not one. */
export function parseDestination(text: string): SshDestination | undefined {
  const match = /^(?:([^@\s:/]+)@)?(\[[0-9A-Fa-f:.%\w]+\]|[^@\s:/[\]]+)(?::(\d{1,5}))?$/.exec(text.trim());
  if (match === null) return undefined;
  const [, user, host = "", port] = match;
  if (host.startsWith("-") || user?.startsWith("-")) return undefined;
  const portNumber = port === undefined ? undefined : Number(port);
  if (portNumber !== undefined && (portNumber < 1 || portNumber > 65535)) return undefined;
  return { ...(user === undefined ? {} : { user }), host: host.replace(/^\[|\]$/g, ""), ...(portNumber === undefined ? {} : { port: portNumber }) };
}

const destination = z.string().refine((s) => parseDestination(s) !== undefined, { message: "expected user@host[:port]" });
const settings = {
  config: z.string().min(1).optional(),
  root: z.string().min(1).optional(),
  service_cmd: z.string().min(1).optional(),
  path: z.string().min(1).optional(),
};
// A node_id as hearth.yaml takes it (schema.ts).
const node = z.string().regex(/^[A-Za-z0-9_-]+$/, { error: "expected a node_id: letters, digits, - or _ only" });
const hostEntry = z.union([destination, z.strictObject({ host: destination, node: node.optional(), ...settings })]);
/** A fleet file: a list of hosts, or `{ defaults, hosts }`; an entry is a destination or `{ host, node, …settings }`. */
export const fleetSchema = z.union([z.array(hostEntry), z.strictObject({ defaults: z.strictObject(settings).optional(), hosts: z.array(hostEntry) })]);

/**
 * Reads a fleet file. Plain text is one `user@host[:port]` a line with `#` comments; YAML (a list, or
 * `{ defaults, hosts }`) also gives per-host settings and nodes. Relative config paths are from the file's folder.
 */
export async function readFleetFile(file: string): Promise<FleetHost[]> {
  let text: string;
  try {
    text = await Bun.file(file).text();
  } catch (err) {
    throw new FleetFileError("FLEET_INVALID", `cannot read fleet file ${file}: ${(err as Error).message}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = Bun.YAML.parse(text);
  } catch {
    parsed = undefined; // not YAML: read it as plain lines
  }
  if (parsed === null || typeof parsed !== "object") return plainLines(file, text);
  const result = fleetSchema.safeParse(parsed);
  if (!result.success) {
    const problems = result.error.issues.map(
      (i) =>
        `  ${
          i.path
            .map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`))
            .join("")
            .replace(/^\./, "") || "(file)"
        }: ${i.message}`,
    );
    throw new FleetFileError("FLEET_INVALID", `${file}: invalid fleet file\n${problems.join("\n")}`);
  }
  const fleet = Array.isArray(result.data) ? { defaults: undefined, hosts: result.data } : result.data;
  const base = dirname(resolve(file));
  return fleet.hosts.map((entry) => {
    const e = typeof entry === "string" ? { host: entry } : entry;
    const merged = { ...fleet.defaults, ...e };
    return {
      label: e.host,
      destination: parseDestination(e.host)!,
      ...("node" in e && e.node !== undefined ? { node: e.node } : {}),
      ...(merged.config === undefined ? {} : { config: resolve(base, merged.config) }),
      ...(merged.root === undefined ? {} : { root: merged.root }),
      ...(merged.service_cmd === undefined ? {} : { serviceCmd: merged.service_cmd }),
      ...(merged.path === undefined ? {} : { path: merged.path }),
    };
  });
}

function plainLines(file: string, text: string): FleetHost[] {
  const hosts: FleetHost[] = [];
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") continue;
    const parsed = parseDestination(line);
    if (parsed === undefined) throw new FleetFileError("FLEET_INVALID", `${file}:${i + 1}: "${line}" is not a host: expected user@host[:port]`);
    hosts.push({ label: line, destination: parsed });
  }
  return hosts;
}
