/**
 * The configuration page's routes: `GET /config` shows the file hearth runs with, `POST /config/check`
 * checks an edited text, `POST /config/save` saves a valid one and reloads it. What checks, saves and
 * reloads is handed in by the composition root (`ConfigEditing`, src/config-editor.ts), since checking
 * needs the model catalogue, which this layer does not import. Access and the CSRF token are the pipeline's.
 */
import type { ConfigReloadResult } from "../config/reload.ts";
import { configPage } from "./config-page.ts";
import { html, type Route, type RouteContext } from "./server.ts";

/** An edited text's check, in `hearth check-config`'s words: its summary when valid, else every problem. */
export interface ConfigCheck {
  valid: boolean;
  report: string;
  problems?: string[];
}

/** What a save did: refused (nothing written; why in `check`), or written, backed up and reloaded. */
export type ConfigSave = { saved: false; check: ConfigCheck } | { saved: true; backup: string; check: ConfigCheck; reload: ConfigReloadResult };

/** The configuration file as the page edits it. */
export interface ConfigEditing {
  readonly file: string;
  /** The file's text and its version (sent back on save); `hidden` says why the text is not shown (a secret in it), the text then empty. */
  read(): Promise<{ text: string; version: string; hidden?: string }>;
  check(text: string): Promise<ConfigCheck>;
  /** Saves `text` over the file whose version was `version` (refused when it changed since). */
  save(text: string, version: string): Promise<ConfigSave>;
}

/** The edited text as the form sent it: a browser sends a textarea's lines ending in CRLF, the file had LF. */
function editedText(form: URLSearchParams | undefined): string {
  return (form?.get("text") ?? "").replace(/\r\n/g, "\n");
}

/** The routes; `editing` is undefined when hearth runs with the embedded defaults (no file: the page says so). */
export function configRoutes(editing: ConfigEditing | undefined): Route[] {
  const pageOf = (context: RouteContext, body: Omit<Parameters<typeof configPage>[0], "csrf" | "file">) => configPage({ csrf: context.session!.csrf, file: editing?.file, ...body });
  return [
    {
      method: "GET",
      path: "/config",
      access: "page",
      handle: async (context) => {
        if (editing === undefined) return html(200, pageOf(context, {}));
        const { text, version, hidden } = await editing.read();
        return html(200, pageOf(context, { text, version, hidden }));
      },
    },
    {
      method: "POST",
      path: "/config/check",
      access: "page",
      handle: async (context) => {
        if (editing === undefined) return html(409, pageOf(context, {}));
        const text = editedText(context.form);
        const check = await editing.check(text);
        return html(check.valid ? 200 : 422, pageOf(context, { text, version: context.form?.get("version") ?? "", check }));
      },
    },
    {
      method: "POST",
      path: "/config/save",
      access: "page",
      handle: async (context) => {
        if (editing === undefined) return html(409, pageOf(context, {}));
        const text = editedText(context.form);
        const saved = await editing.save(text, context.form?.get("version") ?? "");
        if (!saved.saved) return html(422, pageOf(context, { text, version: context.form?.get("version") ?? "", check: saved.check }));
        // The page goes on from the file as written: its new version is the one a next save must match.
        const now = await editing.read();
        return html(200, pageOf(context, { text: now.text, version: now.version, hidden: now.hidden, check: saved.check, saved }));
      },
    },
  ];
}
