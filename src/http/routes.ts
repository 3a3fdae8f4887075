/**
 * The web server's routes: sign-in and out, the console's page at / (and its own routes, console-routes.ts),
 * the log page (log-page.ts), the configuration page (config-routes.ts), the firmware upload
 * (firmware-routes.ts) and /metrics. A page is one more route here (its access, its handler); the pipeline in server.ts does the checks.
 */
import type { Logger } from "../core/logger.ts";
import { type ConfigEditing, configRoutes } from "./config-routes.ts";
import type { ConsoleFeed } from "./console-feed.ts";
import { consolePage } from "./console-pages.ts";
import { consoleRoutes } from "./console-routes.ts";
import { type ConsoleSources, devicesOf, overviewOf } from "./console-state.ts";
import { EXPOSITION_CONTENT_TYPE } from "./exposition.ts";
import { firmwareRoutes } from "./firmware-routes.ts";
import type { LogFeed } from "./log-feed.ts";
import { logRoutes } from "./log-page.ts";
import { renderMetrics } from "./metrics.ts";
import { loginPage } from "./pages.ts";
import { html, type Route, redirect } from "./server.ts";

export function routes(sources: ConsoleSources, feed: ConsoleFeed, log: Logger, logFeed: LogFeed, config?: ConfigEditing): Route[] {
  const { nodeId } = sources;
  return [
    {
      method: "GET",
      path: "/",
      access: "page",
      handle: ({ session }) => html(200, consolePage({ overview: overviewOf(sources), devices: devicesOf(sources), csrf: session!.csrf, user: session!.user })),
    },
    ...consoleRoutes(sources, feed, log),
    ...firmwareRoutes(sources, log),
    ...logRoutes(sources, logFeed),
    ...configRoutes(config),
    {
      method: "GET",
      path: "/login",
      access: "public",
      handle: ({ session, auth }) => (!auth.required || session?.user !== undefined ? redirect("/") : html(200, loginPage(nodeId, session!.csrf))),
    },
    {
      method: "POST",
      path: "/login",
      access: "public",
      handle: async ({ form, address, auth, session, setSession }) => {
        if (!auth.required) return redirect("/");
        const signedIn = await auth.signIn(address, form?.get("username") ?? "", form?.get("password") ?? "");
        if (signedIn === undefined) return html(401, loginPage(nodeId, session!.csrf, "Wrong user or password."));
        // A new session on sign-in: the token the login form had never becomes a signed-in one.
        auth.end(session!.token);
        setSession(signedIn);
        return redirect("/");
      },
    },
    {
      method: "POST",
      path: "/logout",
      access: "page",
      handle: ({ session, auth, setSession }) => {
        auth.end(session!.token);
        feed.endSession(session!.token);
        logFeed.endSession(session!.token);
        setSession(undefined);
        return redirect(auth.required ? "/login" : "/");
      },
    },
    {
      method: "GET",
      path: "/metrics",
      access: "scrape",
      handle: () => new Response(renderMetrics(sources), { headers: { "Content-Type": EXPOSITION_CONTENT_TYPE } }),
    },
  ];
}
