/**
 * hearth's web server on Bun.serve: the routes (src/http/routes.ts) behind one pipeline that checks, in
 * this order, the route, who is asking (a session's cookie, or HTTP Basic where a route accepts it) and,
 * for every request that changes something, the session's CSRF token. A route only says what it needs;
 * the console (console-routes.ts, its WebSocket included) adds routes, never its own checks.
 */
import type { Server, ServerWebSocket } from "bun";
import { isLoopback } from "../config/schema.ts";
import type { Logger } from "../core/logger.ts";
import { type Auth, type Session, sameSecret } from "./auth.ts";
import { HttpError } from "./errors.ts";

/** What a route's handler is given. */
export interface RouteContext {
  readonly request: Request;
  readonly url: URL;
  /** The client's address (the peer of the connection). */
  readonly address: string;
  /** The browser's session (signed in when sign-in is required), or undefined on a `public` route without one. */
  readonly session: Session | undefined;
  /** A POST's form fields, already read (the CSRF token checked). */
  readonly form: URLSearchParams | undefined;
  /** A multipart POST's files, by field name (a firmware image). */
  readonly files: ReadonlyMap<string, File>;
  readonly auth: Auth;
  /** Sets a cookie on the response the handler returns. */
  setSession(session: Session | undefined): void;
}

/**
 * Who may use a route: `public` (the login form: anyone, a session is made for its CSRF token), `page` (a
 * signed-in session when sign-in is required; else any browser, given a session for its CSRF token), or
 * `scrape` (as `page`, or HTTP Basic credentials, for Prometheus).
 */
export type Access = "public" | "page" | "scrape";

export interface Route {
  method: "GET" | "POST";
  path: string;
  access: Access;
  /** A GET that asks to upgrade (`Upgrade: websocket`) becomes this WebSocket once the pipeline let it through; `handle` answers any other. */
  socket?: SocketHandlers;
  /** The largest body it takes (default MAX_BODY_BYTES): a bigger one is refused unread. */
  maxBodyBytes?: number;
  handle(context: RouteContext): Response | Promise<Response>;
}

/** A route's WebSocket, told when one opens and closes (the console's only sends; what a page sends is ignored). */
export interface SocketHandlers {
  open(socket: ServerWebSocket<SocketData>): void;
  close(socket: ServerWebSocket<SocketData>): void;
}

/** What a WebSocket carries: its route's handlers and the session that opened it. */
export interface SocketData {
  handlers: SocketHandlers;
  session: Session | undefined;
}

export interface HttpServerOptions {
  log: Logger;
  hostname: string;
  /** 0: a free port, chosen when it starts (tests). */
  port: number;
  auth: Auth;
  routes: readonly Route[];
  /** What runs beside the server (the console's live feed): started once it listens, stopped before it closes. */
  parts?: ReadonlyArray<{ start(): void; stop(): void }>;
  /** Set the cookie's Secure flag (when served over TLS, which hearth does not do yet). */
  secure?: boolean;
}

export const SESSION_COOKIE = "hearth_session";
/** Form bodies larger than this are refused unread; the console's forms are a few fields. */
const MAX_BODY_BYTES = 64 * 1024;
/** What a route may take at most (`maxBodyBytes`): a firmware image's Intel HEX, up to 1 MiB, with its form. */
export const MAX_UPLOAD_BYTES = (1 << 20) + 64 * 1024;

/** Headers on every answer: nothing from elsewhere, not framed, not cached, not sniffed. */
const SECURITY_HEADERS: Record<string, string> = {
  // The console's one script is served from here (no inline script), and it talks only to this server.
  "Content-Security-Policy": "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-store",
};

export class HttpServer {
  private readonly options: HttpServerOptions;
  private server: Server<SocketData> | undefined;

  constructor(options: HttpServerOptions) {
    this.options = options;
  }

  /** Where it listens, once started (the port chosen when 0 was asked for). */
  get url(): URL {
    if (this.server === undefined) throw new Error("the web server has not started");
    return this.server.url;
  }

  /** Binds and serves. A listener other than loopback needs sign-in (`HTTP_AUTH_REQUIRED`); a taken port is `HTTP_PORT_TAKEN`. Safe twice. */
  start(): void {
    if (this.server !== undefined) return;
    const { hostname, port, auth, log } = this.options;
    if (!auth.required && !isLoopback(hostname)) {
      throw new HttpError("HTTP_AUTH_REQUIRED", `The web server would listen on ${hostname}, which is not loopback, without sign-in: set http.auth`);
    }
    try {
      this.server = Bun.serve<SocketData>({
        hostname,
        port,
        maxRequestBodySize: MAX_UPLOAD_BYTES, // each route's own limit is checked before its body is read
        fetch: (request, server) => this.handle(request, server),
        websocket: {
          open: (ws) => ws.data.handlers.open(ws),
          message: () => {},
          close: (ws) => ws.data.handlers.close(ws),
        },
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EADDRINUSE") {
        throw new HttpError("HTTP_PORT_TAKEN", `Port ${port} on ${hostname} is taken by another program: set http.listen (or HEARTH_HTTP_LISTEN) to another address`, { cause: err });
      }
      throw err;
    }
    for (const part of this.options.parts ?? []) part.start();
    log.info({ url: this.server.url.href, signIn: auth.required }, `Web console and /metrics on ${this.server.url.href}${auth.required ? " (sign-in required)" : ""}`);
  }

  /** Stops listening and closes open connections. Safe twice. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    for (const part of this.options.parts ?? []) part.stop();
    await server.stop(true);
  }

  private async handle(request: Request, server: Server<SocketData>): Promise<Response | undefined> {
    const address = server.requestIP(request)?.address ?? "unknown";
    try {
      const response = await this.route(request, address, server);
      if (response === undefined) return undefined; // upgraded to a WebSocket
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) if (!response.headers.has(name)) response.headers.set(name, value);
      return response;
    } catch (err) {
      this.options.log.error({ err, path: new URL(request.url).pathname }, "Web request failed");
      return text(500, "Internal error\n");
    }
  }

  private async route(request: Request, address: string, server: Server<SocketData>): Promise<Response | undefined> {
    const url = new URL(request.url);
    const method = request.method === "HEAD" ? "GET" : request.method;
    const matching = this.options.routes.filter((r) => r.path === url.pathname);
    if (matching.length === 0) return text(404, "Not found\n");
    const route = matching.find((r) => r.method === method);
    if (route === undefined) return text(405, "Method not allowed\n", { Allow: matching.map((r) => r.method).join(", ") });
    const { auth } = this.options;
    let session = auth.session(cookie(request, SESSION_COOKIE));
    let newSession: Session | undefined | null = null; // null: leave the cookie as it is
    const signedIn = session?.user !== undefined;
    if (route.access !== "public" && auth.required && !signedIn) {
      if (route.access === "scrape" && (await auth.basic(address, request.headers.get("authorization")))) session = undefined;
      else if (route.access === "scrape") return text(401, "Sign-in required\n", { "WWW-Authenticate": 'Basic realm="hearth", charset="UTF-8"' });
      else if (method === "GET") return redirect("/login");
      else return text(403, "Sign-in required\n");
    }
    let form: URLSearchParams | undefined;
    let files: ReadonlyMap<string, File> = new Map();
    if (method === "POST") {
      const limit = route.maxBodyBytes ?? MAX_BODY_BYTES;
      const length = Number(request.headers.get("content-length") ?? Number.NaN);
      if (!(length <= limit)) return text(413, `A body of at most ${limit} bytes, with its length said, is taken here\n`);
      // Every request that changes something carries its session's token: another site's form cannot.
      ({ form, files } = await formOf(request));
      const token = form?.get("csrf") ?? request.headers.get("x-csrf-token") ?? "";
      if (session === undefined || !sameSecret(token, session.csrf)) return text(403, "Missing or wrong CSRF token: reload the page and try again\n");
    } else if (session === undefined && route.access !== "scrape") {
      // A browser without a session gets one, for the CSRF token of the forms it is shown.
      session = auth.anonymousSession();
      newSession = session;
    }
    if (route.socket !== undefined && request.headers.get("upgrade")?.toLowerCase() === "websocket") {
      // A browser sends a WebSocket's cookie whatever page opened it: only this server's own pages may (no cross-site hijacking).
      if (!sameOrigin(request)) return text(403, "Cross-origin WebSocket refused\n");
      if (server.upgrade(request, { data: { handlers: route.socket, session } })) return undefined;
      return text(400, "WebSocket upgrade failed\n");
    }
    const context: RouteContext = {
      request,
      url,
      address,
      session,
      form,
      files,
      auth,
      setSession: (s) => {
        newSession = s;
      },
    };
    const response = await route.handle(context);
    if (newSession !== null) response.headers.append("Set-Cookie", this.sessionCookie(newSession));
    return response;
  }

  /** The session cookie: HttpOnly, SameSite=Strict, Secure under TLS; an ended session's clears it. */
  private sessionCookie(session: Session | undefined): string {
    const flags = `Path=/; HttpOnly; SameSite=Strict${this.options.secure ? "; Secure" : ""}`;
    return session === undefined ? `${SESSION_COOKIE}=; ${flags}; Max-Age=0` : `${SESSION_COOKIE}=${session.token}; ${flags}`;
  }
}

/** Whether the request's Origin is this server as the browser addressed it (its Host header). */
function sameOrigin(request: Request): boolean {
  const origin = request.headers.get("origin");
  const host = request.headers.get("host");
  if (origin === null || host === null) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

function cookie(request: Request, name: string): string | undefined {
  const header = request.headers.get("cookie");
  if (header === null) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** A form's fields (urlencoded or multipart) and a multipart form's files; no fields for any other body (a JSON request carries its token in X-CSRF-Token). */
async function formOf(request: Request): Promise<{ form: URLSearchParams | undefined; files: ReadonlyMap<string, File> }> {
  const type = request.headers.get("content-type") ?? "";
  if (type.startsWith("application/x-www-form-urlencoded")) return { form: new URLSearchParams(await request.text()), files: new Map() };
  if (!type.startsWith("multipart/form-data")) return { form: undefined, files: new Map() };
  let data: Awaited<ReturnType<Request["formData"]>>;
  try {
    data = await request.formData();
  } catch {
    return { form: undefined, files: new Map() }; // unreadable: refused for its missing token
  }
  const form = new URLSearchParams();
  const files = new Map<string, File>();
  for (const [name, value] of data.entries()) {
    if (typeof value === "string") form.append(name, value);
    else files.set(name, value as File);
  }
  return { form, files };
}

/** A page's script at `path`, served by hearth itself (so the compiled binary carries it and the Content-Security-Policy allows no other). */
export function scriptRoute(path: string, script: string): Route {
  return { method: "GET", path, access: "page", handle: () => new Response(script, { headers: { "Content-Type": "text/javascript; charset=utf-8" } }) };
}

/** What a page's WebSocket is handed to (the console's feed, the log's): each socket the pipeline let through, and when it closed. */
export interface SocketFeed {
  open(socket: ServerWebSocket<SocketData>): void;
  closed(socket: ServerWebSocket<SocketData>): void;
}

/** A page's WebSocket at `path`, handed to `feed`; a GET there that does not ask to upgrade gets 426. */
export function socketRoute(path: string, feed: SocketFeed): Route {
  return {
    method: "GET",
    path,
    access: "page",
    socket: { open: (ws) => feed.open(ws), close: (ws) => feed.closed(ws) },
    handle: () => text(426, "Upgrade to a WebSocket\n", { Upgrade: "websocket" }),
  };
}

export function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { "Content-Type": "text/plain; charset=utf-8", ...headers } });
}

export function html(status: number, body: string): Response {
  return new Response(body, { status, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

export function redirect(location: string): Response {
  return new Response(null, { status: 303, headers: { Location: location } });
}
