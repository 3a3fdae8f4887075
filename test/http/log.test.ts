import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "puppeteer-core";
import { MemoryLogDestination } from "../../src/core/logger.ts";
import { inBrowser } from "../helpers/browser.ts";
import { tempDir } from "../helpers/temp.ts";
import { broker, cleanUpAfterEach, configFile, hearth, peer, yaml } from "../mqtt/helpers.ts";

// The log page in a real browser (Debian's chromium, headless) on the real web server of a real hearth: two
// simulated hearth-io boards on ptys, a real Mosquitto, and the logger the service makes itself (its ring
// is the composition root's), writing to memory instead of stdout.
cleanUpAfterEach();

// The page's globals, as the functions puppeteer runs in the page use them (this project's types have no DOM).
declare const window: { pwned?: number; sameLoad?: boolean };
declare const document: { querySelectorAll(selector: string): Iterable<{ textContent: string | null }> };

const MQTT_SECRET = "mqtt-secret-51c9";
const OTHER_SECRET = "other-secret-0e2d";
const HOSTILE = `<img src=x onerror="window.pwned=1">`;

/** The lines the page shows now (those its filters leave), as their level, device and text. */
function visible(page: Page): Promise<Array<{ level: string; device: string; text: string }>> {
  return page.$$eval("#lines li:not([hidden])", (items) =>
    items.map((i) => {
      const e = i as unknown as { dataset: { level: string; device?: string }; textContent: string };
      return { level: e.dataset.level, device: e.dataset.device ?? "", text: e.textContent };
    }),
  );
}

/** Waits until a shown line contains `text` (a deadline, not a sleep). */
async function lineShows(page: Page, text: string): Promise<void> {
  await page.waitForFunction((want) => [...document.querySelectorAll("#lines li:not([hidden])")].some((li) => (li.textContent ?? "").includes(want)), { timeout: 10_000 }, text);
}

test("the log page shows recent lines and new ones live, as text, secrets redacted, filtered by level and by device (state changes included)", async () => {
  const b = await broker();
  const user = await peer(b.url);
  const written = new MemoryLogDestination();
  const text = yaml(b.url, ["board", "other"], "log_level: debug\nlog_states: true\nhttp:\n  listen: 127.0.0.1:0\n");
  const { service } = await hearth(configFile(text), { log: undefined, logDestination: written });
  await user.json("hearth/test/bridge/info", (i: { devices: { available: number } }) => i.devices.available === 2);
  // Logged before the page opens: the page starts with it (the ring's history), redacted as the logger redacts.
  service.log.warn({ mqtt: { url: b.url, password: MQTT_SECRET }, password: OTHER_SECRET }, `Connecting as ${HOSTILE}`);
  service.log.debug("a debug line for the filter");
  expect(JSON.stringify(written.lines)).not.toContain(MQTT_SECRET);

  await inBrowser(async (page) => {
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(String(err)));
    await page.goto(service.http!.url.href);
    await Promise.all([page.waitForNavigation(), page.click('nav a[href="/log"]')]);
    expect(new URL(page.url()).pathname).toBe("/log");
    await page.waitForSelector("#live[data-live=on]", { timeout: 10_000 });
    await lineShows(page, `Connecting as ${HOSTILE}`);
    const connecting = (await visible(page)).find((l) => l.text.includes("Connecting as"))!;
    expect(connecting.level).toBe("warn");
    expect(connecting.text).toContain('"password":"***"');
    expect(connecting.text).toContain("password=***");
    const html = await page.content();
    expect(html).not.toContain(MQTT_SECRET);
    expect(html).not.toContain(OTHER_SECRET);
    expect(await page.$$("#lines img")).toHaveLength(0);
    expect(await page.evaluate(() => window.pwned)).toBeUndefined();

    // A new line, from an MQTT request, shows without a reload.
    await page.evaluate(() => (window.sameLoad = true));
    await user.publish("hearth/test/bridge/request/log_level", JSON.stringify({ level: "debug" }));
    await lineShows(page, "Log level is now debug");
    expect(await page.evaluate(() => window.sameLoad)).toBe(true);

    // The level filter: from info up, the debug lines are hidden (still on the page).
    expect((await visible(page)).some((l) => l.level === "debug")).toBe(true);
    await page.select("#level", "info");
    const fromInfo = await visible(page);
    expect(fromInfo.some((l) => l.text.includes("Log level is now debug"))).toBe(true);
    expect(fromInfo.filter((l) => l.level === "debug" || l.level === "trace")).toEqual([]);
    expect(await page.$$eval('#lines li[data-level="debug"][hidden]', (items) => items.length)).toBeGreaterThan(0);

    // The device filter: one device's lines only, its state changes and a new one of its own included.
    await page.select("#level", "trace");
    await lineShows(page, "[states] board ");
    await lineShows(page, "[states] other ");
    await page.select("#device", "other");
    const others = await visible(page);
    expect(others.length).toBeGreaterThan(0);
    expect(others.filter((l) => l.device !== "other")).toEqual([]);
    expect(others.some((l) => l.text.includes("[states] other "))).toBe(true);
    expect(others.some((l) => l.text.includes("[states] board "))).toBe(false);
    expect(others.every((l) => l.text.includes("device=other"))).toBe(true);
    service.log.child({ device: "board" }).info("a line of the board");
    service.log.child({ device: "other" }).info("a line of the other board");
    await lineShows(page, "a line of the other board");
    expect((await visible(page)).some((l) => l.text.includes("a line of the board"))).toBe(false);
    expect(errors).toEqual([]);
  });
});

test("with sign-in on, the log page and its socket need a signed-in session", async () => {
  const b = await broker();
  const passwordFile = join(tempDir("hearth-http-"), "http-password");
  writeFileSync(passwordFile, "console password\n");
  const { service } = await hearth(configFile(yaml(b.url, ["board"], `http:\n  listen: 127.0.0.1:0\n  auth:\n    username: admin\n    password_file: ${passwordFile}\n`)));
  const base = service.http!.url.href.replace(/\/$/, "");
  const page = await fetch(`${base}/log`, { redirect: "manual" });
  expect(page.status).toBe(303);
  expect(page.headers.get("location")).toBe("/login");
  expect((await fetch(`${base}/log.js`, { redirect: "manual" })).status).toBe(303);
  const opened = await new Promise<boolean>((resolve) => {
    const socket = new WebSocket(`${base.replace("http", "ws")}/log/ws`, { headers: { Origin: base } } as unknown as string[]);
    socket.onopen = () => {
      socket.close();
      resolve(true);
    };
    socket.onerror = () => resolve(false);
    socket.onclose = () => resolve(false);
  });
  expect(opened).toBe(false);
});
