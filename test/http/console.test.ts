import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "puppeteer-core";
import type { HearthIoSimulator } from "../../devices/hearth-io/simulator.ts";
import type { Service } from "../../src/service.ts";
import { inBrowser } from "../helpers/browser.ts";
import { tempDir } from "../helpers/temp.ts";
import { broker, cleanUpAfterEach, configFile, hearth, peer, yaml } from "../mqtt/helpers.ts";

// The web console in a real browser: Debian's chromium, headless, driven by puppeteer-core, on the real
// web server of a real hearth (the service with a simulated hearth-io board on a pty, on a real Mosquitto).
cleanUpAfterEach();

// The page's globals, as the functions puppeteer runs in the page use them (this project's types have no DOM).
declare const document: { querySelector(selector: string): { textContent: string | null } | null };
declare const window: { pwned?: number; sameLoad?: boolean };

/** The text of the page's live cell `data-t=name` (within the device `device`, if given). */
function cell(page: Page, name: string, device?: string): Promise<string> {
  const scope = device === undefined ? "#overview" : `[data-device="${device}"]`;
  return page.$eval(`${scope} [data-t="${name}"]`, (e) => e.textContent ?? "");
}

/** Waits until the cell says `expected` (a deadline, not a sleep); failing, says what it said instead. */
async function cellBecomes(page: Page, name: string, expected: string, device?: string): Promise<void> {
  const scope = device === undefined ? "#overview" : `[data-device="${device}"]`;
  try {
    await page.waitForFunction((selector, want) => document.querySelector(selector)?.textContent === want, { timeout: 10_000 }, `${scope} [data-t="${name}"]`, expected);
  } catch (err) {
    const outcome = device === undefined ? "" : await page.$eval(`${scope} [data-outcome]`, (e) => e.textContent);
    throw new Error(`${name} of ${device ?? "the overview"} says ${JSON.stringify(await cell(page, name, device))}, not ${JSON.stringify(expected)} (the last outcome: ${outcome})`, { cause: err });
  }
}

/** On how many lines the page lays out the text of the device's cell `data-t=name` (its text's boxes, one top per line). */
function linesOf(page: Page, name: string, device: string): Promise<number> {
  return page.$eval(`[data-device="${device}"] [data-t="${name}"]`, (e) => {
    const range = (document as unknown as { createRange(): { selectNodeContents(node: unknown): void; getClientRects(): Iterable<{ top: number }> } }).createRange();
    range.selectNodeContents(e);
    return new Set([...range.getClientRects()].map((box) => Math.round(box.top))).size;
  });
}

const simulatorOf = (service: Service) => service.ports.simulators.get("board")!.simulator as HearthIoSimulator;

const BROKER_PASSWORD = "broker-secret-7f3a";
const HOSTILE = `<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>`;

test("the console shows the overview bridge/info shows, and a board's states live: a relay switched from the page, a button pressed on the device, a hostile name shown as text", async () => {
  // A broker that wants a password, which hearth's URL carries: the page shows the URL without it.
  const b = await broker({ users: { hearth: BROKER_PASSWORD, user: "peer password" } });
  const user = await peer(b.url, undefined, { username: "user", password: "peer password" });
  // The board's name, as a user could write it, is HTML: it must show as text.
  const text = yaml(b.url.replace("mqtt://", `mqtt://hearth:${BROKER_PASSWORD}@`), ["board"], "http:\n  listen: 127.0.0.1:0\n").replace("  - id: board\n", `  - id: board\n    name: '${HOSTILE}'\n`);
  const { service } = await hearth(configFile(text));
  const info = await user.json<{ version: string; devices: { configured: number; available: number } }>("hearth/test/bridge/info", (i) => i.devices.available === 1);

  await inBrowser(async (page) => {
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(String(err)));
    await page.goto(service.http!.url.href);
    await page.waitForSelector("#live[data-live=on]", { timeout: 10_000 });
    expect(await cell(page, "version")).toBe(info.version);
    await cellBecomes(page, "devices", `${info.devices.available} of ${info.devices.configured}`);
    expect(await cell(page, "broker")).toBe(`connected to ${b.url}`);
    expect(await page.content()).not.toContain(BROKER_PASSWORD);
    expect(await cell(page, "uptime")).toMatch(/^\d+ (s|min)/);

    expect(await page.$eval('[data-device="board"] h3', (h) => h.firstChild?.textContent?.trim())).toBe(HOSTILE);
    expect(await page.$$('[data-device="board"] h3 img, [data-device="board"] h3 script')).toHaveLength(0);
    expect(await page.evaluate(() => window.pwned)).toBeUndefined();
    await cellBecomes(page, "availability", "available", "board");
    expect(await cell(page, "counts", "board")).toMatch(/^[1-9]\d* frames, 0 errors, 0 timeouts$/);
    await cellBecomes(page, "entity:relay1", "OFF", "board");
    await cellBecomes(page, "entity:button", "OFF", "board");
    // On a phone's width, a reading and its unit stay on one line (they wrapped apart in a narrow middle column).
    expect(page.viewport()?.width).toBe(390);
    await page.waitForFunction(() => /^\d+(\.\d+)?\u00a0°C$/.test(document.querySelector('[data-device="board"] [data-t="entity:temperature"]')?.textContent ?? ""), { timeout: 10_000 });
    expect(await linesOf(page, "entity:temperature", "board")).toBe(1);
    expect(await linesOf(page, "entity:humidity", "board")).toBe(1);
    await page.evaluate(() => (window.sameLoad = true));

    // Switched from the page: the same path as an MQTT /set, seen by a peer and on the page.
    const onMqtt = user.next("hearth/test/board", (p) => JSON.parse(p).relay1 === "ON");
    await page.click('tr[data-entity="relay1"] button[value="ON"]');
    await onMqtt;
    await cellBecomes(page, "entity:relay1", "ON", "board");
    await page.waitForFunction(() => document.querySelector('[data-device="board"] [data-outcome]')?.textContent === "Relay 1: done", { timeout: 10_000 });

    // The light's brightness from its slider.
    await page.$eval('tr[data-entity="led"] input[name="brightness"]', (input) => ((input as unknown as { value: string }).value = "128"));
    await page.click('tr[data-entity="led"] form:has(input[name="brightness"]) button');
    await cellBecomes(page, "entity:led", "ON, brightness 128", "board");

    // Pressed on the device: pushed to the page over the WebSocket, no reload.
    simulatorOf(service).setButton(true);
    await cellBecomes(page, "entity:button", "ON", "board");
    expect(await page.evaluate(() => window.sameLoad)).toBe(true);
    expect(errors).toEqual([]);
  });
});

test("a command the device cannot take shows its error on the page", async () => {
  const b = await broker();
  // A second board on a port that is not there: configured, never running.
  const text = `${yaml(b.url, ["board"], "http:\n  listen: 127.0.0.1:0\n")}  - id: gone\n    model: hearth-io\n    port: /dev/hearth-test-no-such-port\n`;
  const { service } = await hearth(configFile(text));
  await inBrowser(async (page) => {
    await page.goto(service.http!.url.href);
    await page.waitForSelector("#live[data-live=on]", { timeout: 10_000 });
    await cellBecomes(page, "devices", "1 of 2");
    await page.click('[data-device="gone"] tr[data-entity="relay1"] button[value="ON"]');
    await page.waitForFunction(() => /^Relay 1: (?!done|sending).+/.test(document.querySelector('[data-device="gone"] [data-outcome]')?.textContent ?? ""), { timeout: 10_000 });
    const said = await page.$eval('[data-device="gone"] [data-outcome]', (e) => e.textContent ?? "");
    expect(said).toContain("not loaded");
    expect(await page.$eval('[data-device="gone"] [data-outcome]', (e) => e.className)).toContain("error");
  });
});

test("with sign-in on, the console asks for a login; a command without the CSRF token and a WebSocket from another origin are refused", async () => {
  const b = await broker();
  const user = await peer(b.url);
  const passwordFile = join(tempDir("hearth-http-"), "http-password");
  writeFileSync(passwordFile, "console password\n");
  const { service } = await hearth(configFile(yaml(b.url, ["board"], `http:\n  listen: 0.0.0.0:0\n  auth:\n    username: admin\n    password_file: ${passwordFile}\n`)));
  const base = `http://127.0.0.1:${service.http!.url.port}`;

  // Without a session the WebSocket is refused (sent to the login form).
  expect(await socketOpens(`${base.replace("http", "ws")}/ws`, { Origin: base })).toBe(false);

  await inBrowser(async (page) => {
    await page.goto(`${base}/`);
    expect(new URL(page.url()).pathname).toBe("/login");
    await page.type('input[name="username"]', "admin");
    await page.type('input[name="password"]', "console password");
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    expect(new URL(page.url()).pathname).toBe("/");
    await page.waitForSelector("#live[data-live=on]", { timeout: 10_000 });
    await cellBecomes(page, "entity:relay1", "OFF", "board");

    // The signed-in browser's own request, without the token: refused, nothing done.
    const refused = await page.evaluate(async () => {
      const response = await fetch("/command", { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: "device=board&entity=relay1&value=ON" });
      return response.status;
    });
    expect(refused).toBe(403);
    // With it (the page's form), done.
    await page.click('tr[data-entity="relay1"] button[value="ON"]');
    await user.json("hearth/test/board", (s) => s.relay1 === "ON");
    await cellBecomes(page, "entity:relay1", "ON", "board");

    // Another site's page, with the browser's cookie, cannot open the socket.
    const cookie = (await page.cookies()).find((c) => c.name === "hearth_session")!;
    const headers = { Cookie: `hearth_session=${cookie.value}` };
    expect(await socketOpens(`${base.replace("http", "ws")}/ws`, { ...headers, Origin: "http://evil.example" })).toBe(false);
    expect(await socketOpens(`${base.replace("http", "ws")}/ws`, { ...headers, Origin: base })).toBe(true);

    // Signing out closes the session's sockets: the page, left open, stops being live.
    const live = await page.$("#live");
    await page.evaluate(() => {
      const csrf = (document.querySelector('input[name="csrf"]') as unknown as { value: string }).value;
      void fetch("/logout", { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: `csrf=${encodeURIComponent(csrf)}` });
    });
    await page.waitForFunction((e) => (e as unknown as { dataset: { live: string } }).dataset.live === "off", { timeout: 10_000 }, live);
    expect(await socketOpens(`${base.replace("http", "ws")}/ws`, { ...headers, Origin: base })).toBe(false);
  });
});

test("the console's and the log's scripts are served as JavaScript, and a plain GET of their sockets is told to upgrade", async () => {
  const b = await broker();
  const { service } = await hearth(configFile(yaml(b.url, ["board"], "http:\n  listen: 127.0.0.1:0\n")));
  for (const [script, socket] of [
    ["/console.js", "/ws"],
    ["/log.js", "/log/ws"],
  ] as const) {
    const js = await fetch(new URL(script, service.http!.url));
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(await js.text()).toStartWith('"use strict";');
    const plain = await fetch(new URL(socket, service.http!.url));
    expect(plain.status).toBe(426);
    expect(plain.headers.get("upgrade")).toBe("websocket");
  }
  expect(await socketOpens(`${service.http!.url.href.replace("http", "ws")}log/ws`, { Origin: service.http!.url.origin })).toBe(true);
});

/** Whether a WebSocket to `url` with these headers opens (Bun's client, which may set Origin and Cookie as a browser would). */
function socketOpens(url: string, headers: Record<string, string>): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, { headers } as unknown as string[]);
    socket.onopen = () => {
      socket.close();
      resolve(true);
    };
    socket.onerror = () => resolve(false);
    socket.onclose = () => resolve(false);
  });
}
