/**
 * `npm run screenshots`: the README's pictures of the web console, made again from the code as it is.
 * hearth runs as its own process (`bun src/cli.ts run`, so its log is its own) with a few built-in
 * models' simulators on ptys and a 1-Wire probe in a temporary folder, on a real Mosquitto (hearth's
 * embedded broker where mosquitto is not installed), its web server on a free loopback port; Debian's
 * chromium, headless through puppeteer-core, opens each page once its live states are in and writes
 * docs/screenshots/*.png. Run it after changing what a page shows, look at the pictures, and commit them.
 */
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "puppeteer-core";
import { inBrowser } from "../helpers/browser.ts";
import { removeTempDirs } from "../helpers/temp.ts";
import { freePort, startBroker } from "../mqtt/broker.ts";

// The page's globals, as the functions puppeteer runs in the page use them (this project's types have no DOM).
declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): Iterable<{ textContent: string | null }>;
};
declare const window: { scrollY: number; scrollTo(x: number, y: number): void };

const ROOT = join(import.meta.dir, "..", "..");
const OUT = join(ROOT, "docs", "screenshots");
/** How long the states may take to come in (the slowest simulator's first report) before the script gives up. */
const WAIT_MS = 30_000;
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1024, height: 720 };
/** The log's lines are dense text, which PNG compresses least: its picture is cut shorter. */
const LOG_HEIGHT = 400;

/** A board's configuration as a newcomer would write one: a few built-in models, each on its simulator. */
const config = (brokerUrl: string) => `node_id: greenhouse-pi
log_states: true
mqtt:
  url: ${brokerUrl}
http:
  listen: 127.0.0.1:8099
devices:
  - id: greenhouse
    name: Greenhouse board
    model: hearth-io
    port: sim
    options: { interval: 2000 }
  - id: mains
    name: Mains meter
    model: eastron-sdm120
    port: sim
    poll_interval: 2
  - id: solar
    name: Solar charger
    model: victron-mppt
    port: sim
  - id: co2
    name: CO2 sensor
    model: mh-z19b
    port: sim
  - id: gps
    name: GPS
    model: nmea-gps
    port: sim
  - id: soil
    name: Soil probe
    model: ds18b20
    port: sim
    poll_interval: 2
`;

/** The state cells of the entities that have one (a button's row has its Press and no state). */
const STATES = '[data-device] tr[data-entity]:not(:has(button[value="PRESS"])) [data-t^="entity:"]';

/** Waits until the console's overview says every device is available and each device shows a reading. */
async function liveStates(page: Page): Promise<void> {
  await page.waitForSelector("#live[data-live=on]", { timeout: WAIT_MS });
  try {
    await page.waitForFunction(
      (states) => {
        const devices = document.querySelector('#overview [data-t="devices"]')?.textContent ?? "";
        const [available, configured] = devices.split(" of ");
        if (available === undefined || available !== configured) return false;
        if (!(document.querySelector('#overview [data-t="broker"]')?.textContent ?? "").startsWith("connected to")) return false;
        // Every device has had a reading: its last change is a time, and none of its entities is still empty (a button has no state).
        const changes = [...document.querySelectorAll('[data-device] [data-t="lastChange"]')];
        const values = [...document.querySelectorAll(states)];
        return changes.every((c) => c.textContent !== "—") && values.every((v) => v.textContent !== "—" && v.textContent !== "");
      },
      { timeout: WAIT_MS },
      STATES,
    );
  } catch (err) {
    const said = await page.$$eval(`#overview [data-t="devices"], #overview [data-t="broker"], [data-device] [data-t="availability"], [data-device] [data-t="lastChange"], ${STATES}`, (cells) =>
      cells.map((c) => `${c.closest("[data-device]")?.getAttribute("data-device") ?? "overview"}.${c.getAttribute("data-t")}: ${c.textContent}`),
    );
    throw new Error(`the console did not fill in within ${WAIT_MS / 1000} s:\n  ${said.join("\n  ")}`, { cause: err });
  }
}

/** Writes the viewport (or the part `clip` names) as docs/screenshots/<name>.png and says its size. */
async function shot(page: Page, name: string, clip?: { x: number; y: number; width: number; height: number }): Promise<void> {
  const path = join(OUT, `${name}.png`);
  await page.screenshot({ path, ...(clip === undefined ? {} : { clip }) });
  console.info(`${path.slice(OUT.length - "docs/screenshots".length)}: ${Math.round(statSync(path).size / 1024)} KB`);
}

/** The desktop shots are cut to the page's column (the pages are at most 40 to 60 rem wide), with a margin; `y` is in the document. */
async function column(page: Page, y: number, height: number): Promise<{ x: number; y: number; width: number; height: number }> {
  const box = await page.$eval("body", (b) => {
    const r = b.getBoundingClientRect();
    return { x: r.left, width: r.width };
  });
  const x = Math.max(0, Math.floor(box.x) - 16);
  return { x, y, width: Math.min(DESKTOP.width - x, Math.ceil(box.width) + 32), height };
}

/** Waits until the web server at `base` answers, or fails with the end of hearth's log if hearth exits first. */
async function answering(base: URL, hearth: { exitCode: number | null }, logFile: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    if (
      await fetch(base).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    if (hearth.exitCode !== null || Date.now() > deadline) {
      const said = readFileSync(logFile, "utf8").split("\n").slice(-20).join("\n");
      throw new Error(`hearth ${hearth.exitCode === null ? `did not answer on ${base.href} within ${WAIT_MS / 1000} s` : `exited with ${hearth.exitCode}`}; its log ends:\n${said}`);
    }
    await Bun.sleep(100);
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "hearth-screenshots-"));
  const broker = await startBroker();
  let hearth: ReturnType<typeof Bun.spawn> | undefined;
  try {
    const file = join(dir, "hearth.yaml");
    writeFileSync(file, config(broker.url));
    const logFile = join(dir, "hearth.log");
    const port = await freePort();
    hearth = Bun.spawn([process.execPath, join(ROOT, "src/cli.ts"), "run", "--config", file], {
      cwd: ROOT,
      // The file says the default address, as a board's does; the free port here is the environment's override.
      env: { ...process.env, HEARTH_HTTP_LISTEN: `127.0.0.1:${port}`, HEARTH_DATA_DIR: join(dir, "data"), HEARTH_LOG_FORMAT: "json" },
      stdin: "ignore",
      stdout: openSync(logFile, "w"),
      stderr: "inherit",
    });
    const base = new URL(`http://127.0.0.1:${port}/`);
    await answering(base, hearth, logFile);
    mkdirSync(OUT, { recursive: true });

    await inBrowser(async (page) => {
      const errors: string[] = [];
      page.on("pageerror", (err) => errors.push(String(err)));

      // The console on a phone: the overview and the first board, after a relay switched from the page.
      await page.setViewport(PHONE);
      await page.goto(base.href);
      await liveStates(page);
      await page.click('[data-device="greenhouse"] tr[data-entity="relay1"] button[value="ON"]');
      await page.waitForFunction(() => document.querySelector('[data-device="greenhouse"] [data-outcome]')?.textContent === "Relay 1: done", { timeout: WAIT_MS });
      await shot(page, "console-phone");

      // The devices on a desktop.
      await page.setViewport(DESKTOP);
      await page.goto(base.href);
      await liveStates(page);
      const devicesTop = await page.$eval("#devices", (e) => e.getBoundingClientRect().top + window.scrollY);
      await shot(page, "console-devices", await column(page, Math.floor(devicesTop) - 8, DESKTOP.height));

      // The log page, its lines in.
      await page.goto(new URL("/log", base).href);
      await page.waitForSelector("#live[data-live=on]", { timeout: WAIT_MS });
      await page.waitForFunction(() => [...document.querySelectorAll("#lines li")].some((li) => (li.textContent ?? "").includes("[states]")), { timeout: WAIT_MS });
      await page.select("#level", "info");
      await page.evaluate(() => window.scrollTo(0, 0));
      await shot(page, "log", await column(page, 0, LOG_HEIGHT));

      // The configuration page, and what Check says of a bad edit.
      await page.goto(new URL("/config", base).href);
      await shot(page, "config", await column(page, 0, DESKTOP.height));
      const bad = config(broker.url).replace("    poll_interval: 2\n", "    poll_interval: often\n").replace("log_states: true\n", "log_states: true\nlog_levle: debug\n");
      await page.$eval("textarea", (e, value) => ((e as unknown as { value: string }).value = value), bad);
      await Promise.all([page.waitForNavigation(), page.click("#config button:not([formaction])")]);
      await page.waitForSelector('#check[data-valid="false"]');
      await shot(page, "config-error", await column(page, 0, DESKTOP.height));

      if (errors.length > 0) throw new Error(`the pages' script failed: ${errors.join("; ")}`);
    });
  } finally {
    if (hearth !== undefined) {
      hearth.kill("SIGTERM");
      await Promise.race([hearth.exited, Bun.sleep(15_000)]);
      if (hearth.exitCode === null) hearth.kill("SIGKILL");
    }
    await broker.stop();
    removeTempDirs();
    rmSync(dir, { recursive: true, force: true });
  }
}

try {
  await main();
  process.exit(0);
} catch (err) {
  console.error(err);
  process.exit(1);
}
