import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadSetup } from "../../src/catalogue.ts";
import { ConfigError } from "../../src/config/load.ts";
import { httpPassword } from "../../src/config/secrets.ts";
import { tempDir } from "../helpers/temp.ts";
import { broker, cleanUpAfterEach, configFile, hearth, yaml } from "../mqtt/helpers.ts";
import { sample, scrape } from "./scrape.ts";

// Sign-in on the real web server of a real hearth (the service on a real Mosquitto), bound to 0.0.0.0 on
// a free port and asked through 127.0.0.1 over real HTTP.
cleanUpAfterEach();

const PASSWORD = "correct horse battery staple";
const root = join(import.meta.dir, "../..");

/** The problems loading a configuration reports, or [] when it is valid. */
async function problemsOf(text: string): Promise<string[]> {
  try {
    await loadSetup(configFile(text).path);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

/** A hearth on 0.0.0.0 with sign-in, its password in a file; the base URL to ask it on (127.0.0.1). */
async function signedInHearth() {
  const b = await broker();
  const secrets = tempDir("hearth-http-");
  const passwordFile = join(secrets, "http-password");
  writeFileSync(passwordFile, `${PASSWORD}\n`);
  const started = await hearth(configFile(yaml(b.url, ["board"], `http:\n  listen: 0.0.0.0:0\n  auth:\n    username: admin\n    password_file: ${passwordFile}\n`)));
  const base = new URL(`http://127.0.0.1:${started.service.http!.url.port}/`);
  return { ...started, base };
}

const basic = (user: string, password: string) => ({ Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` });

test("the configuration check refuses a listen address other than loopback without auth, naming http.auth", async () => {
  const b = "mqtt://127.0.0.1:1";
  const refused = await problemsOf(yaml(b, ["board"], "http:\n  listen: 0.0.0.0:8099\n"));
  expect(refused).toEqual([expect.stringContaining("http.auth: required when listen (0.0.0.0:8099) is not a loopback address")]);
  expect(await problemsOf(yaml(b, ["board"], "http:\n  listen: 192.168.1.20:80\n"))).toHaveLength(1);
  expect(await problemsOf(yaml(b, ["board"], "http:\n  listen: nonsense\n"))).toEqual([expect.stringContaining("http.listen: expected host:port")]);
  for (const loopback of ["127.0.0.1:8099", "127.0.0.2:0", "localhost:8099", "[::1]:8099"]) expect(await problemsOf(yaml(b, ["board"], `http:\n  listen: "${loopback}"\n`))).toEqual([]);
  // hearth check-config says so too, and exits 2.
  const file = configFile(yaml(b, ["board"], "http:\n  listen: 0.0.0.0:8099\n"));
  const child = Bun.spawnSync(["bun", join(root, "src/cli.ts"), "check-config", file.path], { cwd: root, stdout: "pipe", stderr: "pipe" });
  expect(child.exitCode).toBe(2);
  expect(child.stderr.toString()).toContain("http.auth: required when listen (0.0.0.0:8099)");
  // A valid one's summary says where the web server listens, and whether it signs in (never with what).
  const fine = configFile(yaml(b, ["board"], "http:\n  listen: 0.0.0.0:8099\n  auth: { username: admin, password_file: /etc/hearth/http-password }\n"));
  const summary = Bun.spawnSync(["bun", join(root, "src/cli.ts"), "check-config", fine.path], { cwd: root, stdout: "pipe", stderr: "pipe" });
  expect(summary.exitCode).toBe(0);
  expect(summary.stdout.toString()).toContain("  http: 0.0.0.0:8099 with sign-in as admin\n");
});

test("auth without a password file or HEARTH_HTTP_PASSWORD stops the start, naming http.auth.password_file", async () => {
  const b = await broker();
  expect(process.env.HEARTH_HTTP_PASSWORD).toBeUndefined();
  const file = configFile(yaml(b.url, ["board"], "http:\n  listen: 0.0.0.0:0\n  auth: {}\n"));
  await expect(hearth(file)).rejects.toThrow(/http\.auth\.password_file: required/);
  const missing = configFile(yaml(b.url, ["board"], "http:\n  listen: 0.0.0.0:0\n  auth: { password_file: /nonexistent/http-password }\n"));
  await expect(hearth(missing)).rejects.toThrow("http.auth.password_file: cannot read /nonexistent/http-password: ENOENT");
});

test("on 0.0.0.0, /metrics refuses a request without credentials (401) and wrong Basic credentials, and serves the right ones", async () => {
  const { base, logs } = await signedInHearth();
  const anonymous = await fetch(new URL("/metrics", base));
  expect(anonymous.status).toBe(401);
  expect(anonymous.headers.get("www-authenticate")).toStartWith("Basic ");
  const wrong = await fetch(new URL("/metrics", base), { headers: basic("admin", "guess") });
  expect(wrong.status).toBe(401);
  expect((await fetch(new URL("/metrics", base), { headers: basic("root", PASSWORD) })).status).toBe(401);
  const text = await scrape(base, { headers: basic("admin", PASSWORD) });
  expect(sample(text, "hearth_mqtt_connected")).toBeNumber();
  // The start log says sign-in is on; no line tells the password.
  expect(logs.find("Web console and /metrics on")[0]?.signIn).toBe(true);
  expect(JSON.stringify(logs.lines)).not.toContain(PASSWORD);
});

test("sign-in: a wrong password is refused after a delay that grows; the right one sets an HttpOnly, SameSite=Strict session cookie; a POST without the CSRF token is refused", async () => {
  const { base, logs } = await signedInHearth();
  // A page without a session sends the browser to the login form.
  const home = await fetch(base, { redirect: "manual" });
  expect(home.status).toBe(303);
  expect(home.headers.get("location")).toBe("/login");
  const form = await fetch(new URL("/login", base));
  expect(form.status).toBe(200);
  const loginCookie = cookieOf(form);
  const html = await form.text();
  expect(html).toContain('type="password"');
  expect(html).not.toMatch(/<script|https?:\/\//); // plain HTML, nothing from elsewhere
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;

  const login = (password: string, token = csrf) =>
    fetch(new URL("/login", base), {
      method: "POST",
      redirect: "manual",
      headers: { Cookie: loginCookie, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ csrf: token, username: "admin", password }),
    });
  // Without the form's token, nothing is checked.
  expect((await login(PASSWORD, "forged")).status).toBe(403);
  // Wrong: refused, each answer later than the one before (0.5 s, then 1 s: lower bounds only).
  let began = performance.now();
  expect((await login("guess")).status).toBe(401);
  expect(performance.now() - began).toBeGreaterThanOrEqual(450);
  began = performance.now();
  const again = await login("guess again");
  expect(again.status).toBe(401);
  expect(await again.text()).toContain("Wrong user or password.");
  expect(performance.now() - began).toBeGreaterThanOrEqual(950);

  const right = await login(PASSWORD);
  expect(right.status).toBe(303);
  const setCookie = right.headers.get("set-cookie")!;
  expect(setCookie).toMatch(/^hearth_session=[A-Za-z0-9_-]{20,};/);
  expect(setCookie).toContain("HttpOnly");
  expect(setCookie).toContain("SameSite=Strict");
  expect(setCookie).not.toContain("Secure"); // no TLS yet
  const session = setCookie.split(";")[0]!;
  expect(session).not.toBe(loginCookie); // a new session on sign-in
  const signedIn = await fetch(base, { headers: { Cookie: session } });
  expect(signedIn.status).toBe(200);
  const page = await signedIn.text();
  const pageCsrf = /name="csrf" value="([^"]+)"/.exec(page)![1]!;
  // A signed-in browser scrapes /metrics with its cookie.
  await scrape(base, { headers: { Cookie: session } });

  const logout = (body: Record<string, string>) =>
    fetch(new URL("/logout", base), { method: "POST", redirect: "manual", headers: { Cookie: session, "Content-Type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(body) });
  expect((await logout({})).status).toBe(403);
  expect((await logout({ csrf: "forged" })).status).toBe(403);
  expect((await fetch(base, { headers: { Cookie: session } })).status).toBe(200); // still signed in
  const out = await logout({ csrf: pageCsrf });
  expect(out.status).toBe(303);
  expect(out.headers.get("location")).toBe("/login");
  expect(out.headers.get("set-cookie")).toContain("Max-Age=0");
  expect((await fetch(base, { headers: { Cookie: session }, redirect: "manual" })).status).toBe(303);
  // Neither the password nor a session's token is ever logged.
  const logged = JSON.stringify(logs.lines);
  expect(logged).not.toContain(PASSWORD);
  expect(logged).not.toContain(session.split("=")[1]!);
});

/** The name=value of a response's session cookie. */
function cookieOf(response: Response): string {
  return response.headers.get("set-cookie")!.split(";")[0]!;
}

test("the password may come from HEARTH_HTTP_PASSWORD instead of the file, and wins over it", async () => {
  const secrets = tempDir("hearth-http-");
  const passwordFile = join(secrets, "http-password");
  writeFileSync(passwordFile, "from the file\n");
  const http = { listen: "0.0.0.0:0", auth: { username: "hearth", password_file: passwordFile } };
  expect(await httpPassword(http, { HEARTH_HTTP_PASSWORD: "from the environment" })).toBe("from the environment");
  expect(await httpPassword(http, {})).toBe("from the file");
  expect(await httpPassword({ listen: "127.0.0.1:0" }, { HEARTH_HTTP_PASSWORD: "unused" })).toBeUndefined();
});

test("HEARTH_HTTP_LISTEN moving the server off loopback without auth is refused (HTTP_AUTH_REQUIRED), and a taken port is HTTP_PORT_TAKEN", async () => {
  const b = await broker();
  const before = process.env.HEARTH_HTTP_LISTEN;
  process.env.HEARTH_HTTP_LISTEN = "0.0.0.0:0";
  try {
    await expect(hearth(configFile(yaml(b.url, ["board"], "http:\n  listen: 127.0.0.1:0\n")))).rejects.toThrow(/not loopback, without sign-in: set http\.auth/);
  } finally {
    if (before === undefined) delete process.env.HEARTH_HTTP_LISTEN;
    else process.env.HEARTH_HTTP_LISTEN = before;
  }
  // Another program on the port (a real listener).
  const other = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("other") });
  try {
    const taken = hearth(configFile(yaml(b.url, ["board"], `http:\n  listen: 127.0.0.1:${other.port}\n`)));
    await expect(taken).rejects.toMatchObject({ code: "HTTP_PORT_TAKEN" });
  } finally {
    await other.stop(true);
  }
});

test("on loopback without auth, /metrics and pages need no sign-in, but a POST still needs its session's CSRF token", async () => {
  const b = await broker();
  const { service } = await hearth(configFile(yaml(b.url, ["board"], "http:\n  listen: 127.0.0.1:0\n")));
  const base = service.http!.url;
  await scrape(base);
  const home = await fetch(base);
  expect(home.status).toBe(200);
  // No sign-in: the page has no sign-out, but the browser gets a session for the token of its forms.
  const cookie = cookieOf(home);
  expect(cookie).toStartWith("hearth_session=");
  expect((await fetch(new URL("/login", base), { redirect: "manual" })).headers.get("location")).toBe("/");
  const post = (headers: Record<string, string>) => fetch(new URL("/logout", base), { method: "POST", redirect: "manual", headers });
  expect((await post({})).status).toBe(403);
  expect((await post({ Cookie: cookie })).status).toBe(403);
  expect((await post({ Cookie: cookie, "X-CSRF-Token": "forged" })).status).toBe(403);
  // (The same pipeline lets a POST with the right token through: the sign-in test's logout.)
});
