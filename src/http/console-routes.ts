/**
 * The console's routes beside the start page: its script, its WebSocket (live updates, console-feed.ts)
 * and the controls' POST /command, which goes through `DeviceViews.command`, the path an MQTT /set takes.
 * Access and the CSRF token are the pipeline's (server.ts), as for every route.
 */
import { HearthError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { ConsoleFeed } from "./console-feed.ts";
import { CONSOLE_SCRIPT } from "./console-script.ts";
import type { ConsoleSources } from "./console-state.ts";
import { type Route, redirect, scriptRoute, socketRoute } from "./server.ts";

/** The controls' form, as a command's value: a light's `brightness` field is `{ brightness }`, else `value` as sent (`ON`, `21.5`, `PRESS`). */
function commandValue(form: URLSearchParams): unknown {
  const brightness = form.get("brightness");
  return brightness === null ? (form.get("value") ?? undefined) : { brightness: Number(brightness) };
}

export function consoleRoutes(sources: ConsoleSources, feed: ConsoleFeed, log: Logger): Route[] {
  return [
    scriptRoute("/console.js", CONSOLE_SCRIPT),
    socketRoute("/ws", feed),
    {
      method: "POST",
      path: "/command",
      access: "page",
      handle: async ({ form, request }) => {
        const device = form?.get("device") ?? "";
        const entity = form?.get("entity") ?? "";
        let outcome: { ok: true } | { ok: false; error: string };
        try {
          await sources.devices.command(device, entity, form === undefined ? undefined : commandValue(form));
          outcome = { ok: true };
        } catch (err) {
          if (!(err instanceof HearthError)) throw err;
          log.info({ device, entity, code: err.code }, `Command from the console to ${device}.${entity} failed: ${err.message}`);
          outcome = { ok: false, error: err.message };
        }
        // The page's script asks for JSON and shows the outcome; a browser without script is sent back to the page.
        if (!(request.headers.get("accept") ?? "").includes("application/json")) return redirect("/");
        return Response.json(outcome, { status: outcome.ok ? 200 : 400 });
      },
    },
  ];
}
