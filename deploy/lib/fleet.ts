import { dirname, resolve } from "node:path";
import { z } from "zod";
import { DeployError } from "./errors.ts";
import { parseDestination, type SshDestination } from "./ssh.ts";

/** Settings a host can have of its own; the command line gives the defaults. */
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

/** One board to deploy to. */
export interface HostTarget extends HostSettings {
  /** As written on the command line or in the fleet file. */
  readonly label: string;
  readonly destination: SshDestination;
  /**
   * The board's node_id as the fleet file names it (`node:`), the name `hearth fleet` lists it by: the
   * deploy fails, and the release is rolled back, when hearth there answers as another node.
   */
  readonly node?: string;
}

const destination = z.string().refine((s) => parseDestination(s) !== undefined, { message: "expected user@host[:port]" });
const settings = {
  config: z.string().min(1).optional(),
  root: z.string().min(1).optional(),
  service_cmd: z.string().min(1).optional(),
  path: z.string().min(1).optional(),
};
// A node_id as hearth.yaml takes it (src/config/schema.ts).
const node = z.string().regex(/^[A-Za-z0-9_-]+$/, { error: "expected a node_id: letters, digits, - or _ only" });
const hostEntry = z.union([destination, z.strictObject({ host: destination, node: node.optional(), ...settings })]);
/** A fleet file: a list of hosts, or `{ defaults, hosts }`; an entry is a destination or `{ host, …settings }`. */
export const fleetSchema = z.union([z.array(hostEntry), z.strictObject({ defaults: z.strictObject(settings).optional(), hosts: z.array(hostEntry) })]);

/** Parses a host given on the command line. */
export function hostFromArgument(text: string): HostTarget {
  const parsed = parseDestination(text);
  if (parsed === undefined) throw new DeployError("USAGE", `"${text}" is not a host: expected user@host[:port]`);
  return { label: text, destination: parsed };
}

/**
 * Reads a fleet file. Plain text is one `user@host[:port]` a line with `#` comments; YAML (a list, or
 * `{ defaults, hosts }`) also gives per-host settings. Relative config paths are from the file's folder.
 */
export async function readFleet(file: string): Promise<HostTarget[]> {
  let text: string;
  try {
    text = await Bun.file(file).text();
  } catch (err) {
    throw new DeployError("FLEET_INVALID", `cannot read fleet file ${file}: ${(err as Error).message}`, { cause: err });
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
    throw new DeployError("FLEET_INVALID", `${file}: invalid fleet file\n${problems.join("\n")}`);
  }
  const fleet = Array.isArray(result.data) ? { defaults: undefined, hosts: result.data } : result.data;
  const base = dirname(resolve(file));
  return fleet.hosts.map((entry) => {
    const e = typeof entry === "string" ? { host: entry } : entry;
    const merged = { ...fleet.defaults, ...e };
    return {
      ...hostFromArgument(e.host),
      ...("node" in e && e.node !== undefined ? { node: e.node } : {}),
      ...(merged.config === undefined ? {} : { config: resolve(base, merged.config) }),
      ...(merged.root === undefined ? {} : { root: merged.root }),
      ...(merged.service_cmd === undefined ? {} : { serviceCmd: merged.service_cmd }),
      ...(merged.path === undefined ? {} : { path: merged.path }),
    };
  });
}

function plainLines(file: string, text: string): HostTarget[] {
  const hosts: HostTarget[] = [];
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") continue;
    const parsed = parseDestination(line);
    if (parsed === undefined) throw new DeployError("FLEET_INVALID", `${file}:${i + 1}: "${line}" is not a host: expected user@host[:port]`);
    hosts.push({ label: line, destination: parsed });
  }
  return hosts;
}
