/**
 * The configuration file as the web console edits it (src/http/config-routes.ts): an edited text is
 * checked with the loader and the words of `hearth check-config` (loadSetup, summarize), from a temporary
 * file beside the real one so that model folders relative to it resolve as they will; a valid one is
 * saved (the previous file kept as `<file>.bak`, the new one written to a temporary file in the same
 * folder with the old file's mode and renamed over it) and then reloaded as SIGHUP reloads it.
 * It lives at the composition root because it needs the catalogue's loader, which the web layer may not import.
 */
import { randomUUID } from "node:crypto";
import { chmod, copyFile, readFile, realpath, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { type LoadedSetup, loadSetup } from "./catalogue.ts";
import { summarize } from "./commands/check-config.ts";
import { ConfigError } from "./config/load.ts";
import { type ConfigReloadResult, reloadRefusal } from "./config/reload.ts";
import type { Config } from "./config/schema.ts";
import type { ConfigCheck, ConfigEditing, ConfigSave } from "./http/config-routes.ts";

export interface ConfigEditorDeps {
  /** The file hearth runs with (the Service's); the editor writes only this one. */
  file: string;
  /** The configuration in force, for the refusals a reload would make (no devices key). */
  current: () => Config;
  /** The reload SIGHUP runs (Service.reload). */
  reload: () => Promise<ConfigReloadResult>;
}

/** A digest of a file's text: the page sends back the one it was shown, so a save over a file changed meanwhile is refused. */
export function versionOf(text: string): string {
  return new Bun.CryptoHasher("sha256").update(text).digest("hex");
}

/** A user and password in a URL (`mqtt://user:secret@host`). */
const URL_CREDENTIALS = /\/\/[^/@\s]*:[^/@\s]*@/;

/**
 * Why the page may not show or write this text: it carries the MQTT password inline (in `mqtt.password`
 * or in `mqtt.url`), and the page never shows a secret. Read from the text as YAML, whatever else is wrong
 * in it; text that is not YAML is judged by its lines. Undefined when it carries none.
 */
export function inlineSecret(text: string): string | undefined {
  let where: string | undefined;
  try {
    const mqtt = (Bun.YAML.parse(text) as { mqtt?: { password?: unknown; url?: unknown } } | null)?.mqtt;
    where = mqtt?.password !== undefined && mqtt?.password !== null ? "mqtt.password" : typeof mqtt?.url === "string" && URL_CREDENTIALS.test(mqtt.url) ? "mqtt.url" : undefined;
  } catch {
    where = /^\s*password\s*:/m.test(text) ? "mqtt.password" : URL_CREDENTIALS.test(text) ? "mqtt.url" : undefined;
  }
  if (where === undefined) return undefined;
  return `the MQTT password is written in the file (${where}): the web console never shows a secret; move it to mqtt.password_file or the HEARTH_MQTT_PASSWORD environment variable to edit the file here`;
}

export class ConfigEditor implements ConfigEditing {
  readonly file: string;
  private readonly deps: ConfigEditorDeps;
  /** Saves are taken one at a time: two pages saving at once must not interleave backup, write and reload. */
  private saving: Promise<unknown> = Promise.resolve();

  constructor(deps: ConfigEditorDeps) {
    this.deps = deps;
    this.file = deps.file;
  }

  async read(): Promise<{ text: string; version: string; hidden?: string }> {
    const text = await readFile(this.file, "utf8");
    const version = versionOf(text);
    const secret = inlineSecret(text);
    return secret === undefined ? { text, version } : { text: "", version, hidden: secret };
  }

  async check(text: string): Promise<ConfigCheck> {
    try {
      const setup = await this.loaded(text);
      return { valid: true, report: summarize(setup.config, this.file, setup.given, setup.catalogue) };
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return { valid: false, report: `${this.file}: invalid`, problems: err.problems };
    }
  }

  save(text: string, version: string): Promise<ConfigSave> {
    const run = this.saving.then(() => this.runSave(text, version));
    this.saving = run.catch(() => {});
    return run;
  }

  private async runSave(text: string, version: string): Promise<ConfigSave> {
    const refused = (problems: string[], report = `${this.file}: not saved`): ConfigSave => ({ saved: false, check: { valid: false, report, problems } });
    const before = await readFile(this.file, "utf8");
    if (versionOf(before) !== version) return refused([`${this.file} changed since the page showed it: load the page again to edit the file as it is now`]);
    let setup: LoadedSetup;
    try {
      setup = await this.loaded(text);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return refused(err.problems, `${this.file}: invalid`);
    }
    const problems = [inlineSecret(text), reloadRefusal(this.deps.current(), setup)].filter((p) => p !== undefined);
    if (problems.length > 0) return refused(problems);
    const backup = `${this.file}.bak`;
    try {
      await copyFile(this.file, backup);
      await this.replace(text);
    } catch (err) {
      return refused([`cannot write ${this.file} or its backup: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
    }
    return { saved: true, backup, check: { valid: true, report: summarize(setup.config, this.file, setup.given, setup.catalogue) }, reload: await this.deps.reload() };
  }

  /** Writes `text` over the file at once: a temporary file in its folder with its mode, renamed over it (a reader sees the old file or the new, never half of one). */
  private async replace(text: string): Promise<void> {
    // A link to the file stays a link: the file it leads to is the one replaced.
    const target = await realpath(this.file);
    const { mode } = await stat(target);
    const temp = besideFile(target, "save");
    try {
      await writeFile(temp, text, { mode: mode & 0o7777, flush: true });
      await chmod(temp, mode & 0o7777); // the umask may have taken bits off
      await rename(temp, target);
    } finally {
      await rm(temp, { force: true });
    }
  }

  /** `text` loaded as the file would be: from a temporary file beside it (model folders resolve from its folder), removed after. */
  private async loaded(text: string): Promise<LoadedSetup> {
    const temp = besideFile(this.file, "check");
    try {
      await writeFile(temp, text, { mode: 0o600 });
    } catch (err) {
      throw new ConfigError(this.file, [
        `cannot check it: hearth checks an edit from a file beside ${this.file} and cannot write one there: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      ]);
    }
    try {
      return await loadSetup(temp);
    } catch (err) {
      // Its problems name the file being edited, not the temporary one.
      if (err instanceof ConfigError)
        throw new ConfigError(
          this.file,
          err.problems.map((p) => p.replaceAll(temp, this.file)),
        );
      throw err;
    } finally {
      await rm(temp, { force: true });
    }
  }
}

/** A temporary file's name in `file`'s folder, starting with a dot (a model folder there leaves it out). */
function besideFile(file: string, purpose: string): string {
  return join(dirname(file), `.${basename(file)}.${purpose}-${randomUUID()}`);
}
