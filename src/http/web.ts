/**
 * The web server as hearth.yaml's `http:` describes it: its address (HEARTH_HTTP_LISTEN overrides
 * `http.listen`, as HEARTH_MQTT_EMBEDDED_PORT does the embedded broker's port), sign-in with the password
 * the composition root read (src/config/secrets.ts), and the routes with their live feeds (the console's, the log page's).
 */
import { type HttpConfig, parseListen } from "../config/schema.ts";
import type { LogRing } from "../core/log-ring.ts";
import type { Logger } from "../core/logger.ts";
import { Auth } from "./auth.ts";
import type { ConfigEditing } from "./config-routes.ts";
import { ConsoleFeed } from "./console-feed.ts";
import type { ConsoleSources } from "./console-state.ts";
import { HttpError } from "./errors.ts";
import { LogFeed } from "./log-feed.ts";
import { routes } from "./routes.ts";
import { HttpServer } from "./server.ts";

/** The environment variable that overrides `http.listen` (tests: `127.0.0.1:0`). */
export const HTTP_LISTEN_ENV = "HEARTH_HTTP_LISTEN";

export interface WebServerDeps {
  log: Logger;
  http: HttpConfig;
  /** `http.auth`'s password; undefined without `http.auth`. */
  password: string | undefined;
  sources: ConsoleSources;
  /** The log lines the log page shows (the composition root's logger keeps them). */
  logRing: LogRing;
  /** The configuration file for the page at /config; undefined with the embedded defaults (the page says so). */
  config?: ConfigEditing;
  env?: Record<string, string | undefined>;
}

/** The server, not started. */
export function webServer(deps: WebServerDeps): HttpServer {
  const given = (deps.env ?? process.env)[HTTP_LISTEN_ENV];
  const listen = given !== undefined && given !== "" ? given : deps.http.listen;
  const address = parseListen(listen);
  if (address === undefined) throw new HttpError("HTTP_BAD_LISTEN", `${HTTP_LISTEN_ENV}=${listen} is not host:port`);
  const auth = new Auth({ username: deps.http.auth?.username ?? "hearth", password: deps.password });
  const feed = new ConsoleFeed({ sources: deps.sources, log: deps.log });
  const logFeed = new LogFeed(deps.logRing);
  return new HttpServer({ log: deps.log, hostname: address.hostname, port: address.port, auth, routes: routes(deps.sources, feed, deps.log, logFeed, deps.config), parts: [feed, logFeed] });
}
