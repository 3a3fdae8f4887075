/**
 * Model files: a user's own device models, one `*.yaml` per model in the folders a configuration names
 * (`models:`, default `models/` beside it), each with exactly the schema of a built-in device.yaml. Every
 * problem of every file is collected, each starting with its file and its path in it, so that check-config
 * lists them all in one run; the composition root (src/catalogue.ts) lays the good ones over the built-ins.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { clipJson } from "../core/clip.ts";
import { type DeviceDefinition, DeviceDefinitionSchema } from "./device-definition.ts";
import { formatIssues } from "./issues.ts";
import { ConfigError } from "./load.ts";

/** A model read from a file: its checked definition, the file it came from (absolute), and its capture, resolved. */
export interface ModelFile {
  readonly definition: DeviceDefinition;
  /** The model file's absolute path. */
  readonly source: string;
  /** The capture `port: sim` replays (the definition's `simulator.replay`, made absolute against the file's folder). */
  readonly capture?: string | undefined;
}

/** A folder of model files, and where the configuration names it (`models[1]`; undefined for the default folder). */
export interface ModelFolder {
  readonly path: string;
  readonly at?: string | undefined;
}

/** What reading the folders gave: the good models, every problem (each naming its file), and the model names every file declares. */
export interface ModelFiles {
  readonly models: ModelFile[];
  readonly problems: string[];
  /** The `model:` of every file that has one, good or not: a device naming a model whose file is broken is not also "unknown". */
  readonly declared: string[];
}

/** The folder hearth looks in when a configuration names none, beside the configuration file. */
export const DEFAULT_MODELS_FOLDER = "models";

/** A definition checked against the model schema: the definition, or one line per problem, each starting with its path. */
export function checkDefinition(raw: unknown): { ok: true; definition: DeviceDefinition } | { ok: false; problems: string[] } {
  if (raw === null || raw === undefined) return { ok: false, problems: ["the file is empty: expected a model definition (`hearth schema --model` prints its schema)"] };
  const parsed = DeviceDefinitionSchema.safeParse(raw);
  if (parsed.success) return { ok: true, definition: parsed.data };
  return { ok: false, problems: formatIssues(parsed.error.issues, { schema: DeviceDefinitionSchema, input: raw }) };
}

/**
 * Reads and checks one model file (for `hearth try` as for the folders): its definition, or a ConfigError
 * whose `file` is the model file and whose `problems` each start with a path in it.
 */
export async function readModelFile(path: string): Promise<ModelFile> {
  const read = await readModel(resolve(path));
  if (read.model === undefined) throw new ConfigError(resolve(path), read.problems);
  return read.model;
}

/**
 * The folders a configuration's `models:` names (as parsed from YAML, so that a broken configuration's
 * folders are read too), each resolved against the configuration file's folder; when it names none, the
 * default `models/` beside the file. No file (the embedded defaults): no folders, so no user models.
 */
export function modelFoldersOf(models: unknown, configFile: string | undefined): ModelFolder[] {
  if (configFile === undefined) return [];
  const base = dirname(resolve(configFile));
  if (models === undefined || models === null) return [{ path: join(base, DEFAULT_MODELS_FOLDER) }];
  // Anything but a list of paths is the schema's to report (`models: expected a list of folder paths`).
  if (!Array.isArray(models)) return [];
  return models.flatMap((folder, i) => (typeof folder === "string" && folder !== "" ? [{ path: resolve(base, folder), at: `models[${i}]` }] : []));
}

/**
 * Reads every `*.yaml` and `*.yml` in the folders (names starting with a dot, editors' locks and backups,
 * are left out), in order, each folder's files sorted by name. A folder named in the configuration that
 * is not there is a problem at its `models[i]`; the default folder missing is not. Two files defining one
 * model: a problem naming both.
 */
export async function readModelFolders(folders: readonly ModelFolder[]): Promise<ModelFiles> {
  const models: ModelFile[] = [];
  const problems: string[] = [];
  const declared: string[] = [];
  const byName = new Map<string, string>();
  const seen = new Set<string>();
  for (const folder of folders) {
    if (seen.has(folder.path)) continue; // named twice: its files once
    seen.add(folder.path);
    const listed = await modelFilesIn(folder);
    if ("problem" in listed) {
      if (listed.problem !== undefined) problems.push(listed.problem);
      continue;
    }
    for (const file of listed.files) {
      const read = await readModel(file);
      problems.push(...read.problems.map((p) => `${file}: ${p}`));
      if (read.declared === undefined) continue;
      const earlier = byName.get(read.declared);
      if (earlier !== undefined) {
        problems.push(`${file}: model: ${JSON.stringify(read.declared)} is already defined by ${earlier} (one file per model)`);
        continue;
      }
      byName.set(read.declared, file);
      declared.push(read.declared);
      if (read.model !== undefined) models.push(read.model);
    }
  }
  return { models, problems, declared };
}

/** The model files of one folder, sorted; or the problem with the folder (none for a default folder that is not there). */
async function modelFilesIn(folder: ModelFolder): Promise<{ files: string[] } | { problem: string | undefined }> {
  const where = folder.at ?? `models (by default ${folder.path})`;
  let names: string[];
  try {
    names = await readdir(folder.path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { problem: folder.at === undefined ? undefined : `${where}: no folder ${folder.path}` };
    if (code === "ENOTDIR") return { problem: `${where}: ${folder.path} is not a folder` };
    return { problem: `${where}: cannot read the folder ${folder.path}: ${(err as Error).message}` };
  }
  const candidates = names.filter((n) => !n.startsWith(".") && /\.ya?ml$/.test(n)).sort();
  const files: string[] = [];
  for (const name of candidates) {
    const path = join(folder.path, name);
    // A link to a file counts; a folder named x.yaml does not.
    const info = await stat(path).catch(() => undefined);
    if (info?.isFile()) files.push(path);
  }
  return { files };
}

/** One model file read and checked: the model when it is good, its problems (paths in the file), and the name it declares. */
async function readModel(path: string): Promise<{ model?: ModelFile; problems: string[]; declared?: string }> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    return { problems: [`cannot read the file: ${(err as Error).message}`] };
  }
  let raw: unknown;
  try {
    raw = Bun.YAML.parse(text);
  } catch (err) {
    return { problems: [yamlProblem(text, (err as Error).message)] };
  }
  const name = raw !== null && typeof raw === "object" ? (raw as { model?: unknown }).model : undefined;
  const declared = typeof name === "string" && name !== "" ? name : undefined;
  const checked = checkDefinition(raw);
  if (!checked.ok) return { problems: checked.problems, ...(declared === undefined ? {} : { declared }) };
  const definition = checked.definition;
  const replay = definition.simulator?.replay;
  const capture = replay === undefined ? undefined : resolve(dirname(path), replay);
  if (capture !== undefined) {
    const info = await stat(capture).catch(() => undefined);
    if (!info?.isFile()) return { problems: [`simulator.replay: no such file ${capture}, got ${clipJson(replay)}`], declared: definition.model };
  }
  return { model: { definition, source: path, capture }, problems: [], declared: definition.model };
}

/**
 * A YAML error as a problem. Bun's error gives no position in the text, so the line is found as the first
 * one whose text up to it fails the same way (a prefix of good YAML parses, or ends early).
 */
function yamlProblem(text: string, message: string): string {
  const reason = message.replace(/^YAML Parse error: /, "");
  const lines = text.split("\n");
  for (let n = 1; n <= lines.length; n++) {
    try {
      Bun.YAML.parse(lines.slice(0, n).join("\n"));
    } catch (err) {
      if ((err as Error).message === message) return `not valid YAML (near line ${n}): ${reason}`;
    }
  }
  return `not valid YAML: ${reason}`;
}
