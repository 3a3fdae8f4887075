/**
 * The configuration page at /config: the file hearth runs with in a textarea, with Check and Save and
 * reload, and what the last of those said (the check's summary or every problem with its path, then the
 * reload's devices added, removed and reloaded, and what waits for a restart). Plain forms, no script:
 * each answer is this page again, the edited text kept in it. Everything shown goes through escapeHtml.
 */
import type { ConfigCheck, ConfigSave } from "./config-routes.ts";
import { csrfField, escapeHtml, page } from "./pages.ts";

/** The editor's own style, beside the pages' (pages.ts). */
const STYLE = "textarea{width:100%;box-sizing:border-box;font-family:monospace;font-size:.9rem}pre{white-space:pre-wrap;overflow-wrap:anywhere}.problems li{overflow-wrap:anywhere}";

export interface ConfigPageOptions {
  csrf: string;
  /** The file hearth runs with; undefined with the embedded defaults. */
  file: string | undefined;
  text?: string;
  /** The version of the file the text was read from (sent back on save). */
  version?: string;
  /** Why the file is not shown (a secret in it). */
  hidden?: string;
  check?: ConfigCheck;
  saved?: Extract<ConfigSave, { saved: true }>;
}

/** What a check said: the summary as check-config prints it, or the problems, one an item. */
function checkSection(check: ConfigCheck): string {
  const problems = check.problems ?? [];
  const list = problems.length === 0 ? "" : `<ul class="problems">${problems.map((p) => `<li>${escapeHtml(p)}</li>`).join("")}</ul>`;
  return `<section id="check" data-valid="${check.valid}"><h2>${check.valid ? "Valid" : "Not valid"}</h2><pre class="${check.valid ? "ok" : "error"}">${escapeHtml(check.report)}</pre>${list}</section>`;
}

/** What the save and its reload did. */
function savedSection(saved: Extract<ConfigSave, { saved: true }>): string {
  const reload = saved.reload;
  const names = (label: string, ids: string[]) => `<li data-reload="${label}">${label}: ${ids.length === 0 ? "none" : escapeHtml(ids.join(", "))}</li>`;
  const outcome = reload.ok
    ? `<p class="ok">Reloaded.</p><ul>${names("added", reload.added)}${names("removed", reload.removed)}${names("reloaded", reload.reloaded)}</ul>${(reload.notes ?? []).map((n) => `<p class="note" data-note>${escapeHtml(n)}</p>`).join("")}`
    : `<p class="error">Saved, but the reload was refused; the configuration in force stays:</p><ul class="problems">${reload.problems.map((p) => `<li>${escapeHtml(p)}</li>`).join("")}</ul>`;
  return `<section id="saved" data-reload-ok="${reload.ok}"><h2>Saved</h2><p>The previous file is kept as <code>${escapeHtml(saved.backup)}</code>.</p>${outcome}</section>`;
}

export function configPage(options: ConfigPageOptions): string {
  const { csrf, file } = options;
  const nav = `<style>${STYLE}</style><header><h1>Configuration</h1><a href="/">Console</a></header>`;
  if (file === undefined)
    return page(
      "hearth: configuration",
      `${nav}<p id="no-file">hearth runs with its embedded defaults: there is no configuration file to edit. Start it with one (<code>hearth run hearth.yaml</code>) to edit it here.</p>`,
    );
  if (options.hidden !== undefined)
    return page(
      "hearth: configuration",
      `${nav}<p>File: <code>${escapeHtml(file)}</code></p>${options.saved === undefined ? "" : savedSection(options.saved)}<p id="hidden" class="error">Not shown: ${escapeHtml(options.hidden)}.</p>`,
    );
  const fields = `${csrfField(csrf)}<input type="hidden" name="version" value="${escapeHtml(options.version ?? "")}">`;
  return page(
    "hearth: configuration",
    `${nav}
<p>File: <code>${escapeHtml(file)}</code>. No password shows here: they come from their <code>password_file</code> or the environment.</p>
${options.saved === undefined ? "" : savedSection(options.saved)}
${options.check === undefined || options.saved !== undefined ? "" : checkSection(options.check)}
<form method="post" action="/config/check" id="config">${fields}
<textarea name="text" rows="24" spellcheck="false" autocomplete="off" aria-label="${escapeHtml(file)}">${escapeHtml(options.text ?? "")}</textarea>
<p><button type="submit">Check</button> <button type="submit" formaction="/config/save">Save and reload</button></p>
<p class="status">Save writes the file only when it is valid, keeps the previous one as <code>${escapeHtml(file)}.bak</code>, and reloads it as SIGHUP does.</p>
</form>`,
  );
}
