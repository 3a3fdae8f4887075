/**
 * The log page at /log: hearth's last log lines and the new ones, live over /log/ws (log-feed.ts), filtered
 * by level and by device in the browser (log-script.ts). The page itself carries no line: they all come
 * over the socket, set as text only. Access is the console's (`page`); the lines were redacted by the
 * logger before the ring kept them, so no password reaches the page.
 */
import type { ConsoleSources } from "./console-state.ts";
import type { LogFeed } from "./log-feed.ts";
import { LOG_SCRIPT } from "./log-script.ts";
import { escapeHtml, page } from "./pages.ts";
import { html, type Route, scriptRoute, socketRoute } from "./server.ts";

/** The levels to show from, lowest first (pino's, as the logger writes them). */
const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"] as const;

/** How many lines a page keeps (the oldest go), whatever it has been sent. */
const PAGE_LINES = 1000;

const STYLE = `<style>body{max-width:60rem}#filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem}#filters label{margin:0}
#lines{list-style:none;padding:0;font:.8rem/1.3 ui-monospace,monospace;white-space:pre-wrap;overflow-wrap:anywhere}
#lines li{border-top:1px solid #eee;padding:.15rem 0}#lines [data-level=warn]{color:#a60}#lines [data-level=error],#lines [data-level=fatal]{color:#a00}
#lines [data-level=debug],#lines [data-level=trace]{color:#666}</style>`;

export function logPage(nodeId: string, deviceIds: string[]): string {
  const levels = LEVELS.map((l) => `<option value="${l}">${l}${l === "fatal" ? "" : " and above"}</option>`).join("");
  const devices = deviceIds.map((id) => `<option value="${escapeHtml(id)}">${escapeHtml(id)}</option>`).join("");
  return page(
    `hearth ${nodeId}: log`,
    `${STYLE}<header><h1>hearth ${escapeHtml(nodeId)}: log</h1><nav><a href="/">Console</a></nav><span id="live" data-live="off">not live</span></header>
<form id="filters"><label>Level <select id="level">${levels}</select></label>
<label>Device <select id="device"><option value="">all lines</option>${devices}</select></label></form>
<noscript><p>The log is shown by the page's script.</p></noscript>
<ol id="lines" data-max="${PAGE_LINES}"></ol>
<script src="/log.js"></script>`,
  );
}

export function logRoutes(sources: ConsoleSources, feed: LogFeed): Route[] {
  return [
    {
      method: "GET",
      path: "/log",
      access: "page",
      handle: () =>
        html(
          200,
          logPage(
            sources.nodeId,
            sources.devices.list().map((d) => d.id),
          ),
        ),
    },
    scriptRoute("/log.js", LOG_SCRIPT),
    socketRoute("/log/ws", feed),
  ];
}
