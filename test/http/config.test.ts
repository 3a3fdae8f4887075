import { expect, test } from "bun:test";
import { chmodSync, existsSync, lstatSync, readdirSync, readFileSync, statSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "puppeteer-core";
import { inBrowser } from "../helpers/browser.ts";
import { broker, cleanUpAfterEach, configFile, hearth, yaml } from "../mqtt/helpers.ts";

// The configuration page in a real browser (Debian's chromium, headless) on the real web server of a real
// hearth running from a file: a simulated hearth-io board on a pty, on a real Mosquitto.
cleanUpAfterEach();

const HTTP = "http:\n  listen: 127.0.0.1:0\n";

/** Puts `text` in the page's editor and presses a button (`Check`, `Save and reload`); resolves with the answer's status. */
async function submit(page: Page, text: string, button: "Check" | "Save and reload"): Promise<number> {
  await page.$eval("textarea", (e, value) => ((e as unknown as { value: string }).value = value), text);
  const [response] = await Promise.all([page.waitForNavigation(), page.click(button === "Check" ? "#config button:not([formaction])" : "#config button[formaction]")]);
  return response!.status();
}

const textOf = (page: Page, selector: string) => page.$eval(selector, (e) => e.textContent ?? "");
const problemsOf = (page: Page) => page.$$eval(".problems li", (items) => items.map((i) => i.textContent ?? ""));

test("a bad edit shows its problems with their paths and changes nothing; a good one is saved with a backup, reloaded, and its new device runs", async () => {
  const b = await broker();
  const file = configFile(yaml(b.url, ["board"], HTTP));
  chmodSync(file.path, 0o640);
  const original = readFileSync(file.path, "utf8");
  // hearth runs from a link to the file, as a packaged hearth.yaml may be one: the save replaces the file it leads to.
  const link = join(file.dir, "linked.yaml");
  symlinkSync(file.path, link);
  const { service } = await hearth({ path: link });
  const url = new URL("/config", service.http!.url).href;

  await inBrowser(async (page) => {
    await page.goto(service.http!.url.href);
    await Promise.all([page.waitForNavigation(), page.click('a[href="/config"]')]);
    expect(await textOf(page, "code")).toBe(link);
    expect(await page.$eval("textarea", (e) => (e as unknown as { value: string }).value)).toBe(original);
    // A second page, opened now, shows the file as it is before the save below.
    const stale = await page.browser().newPage();
    await stale.goto(url);
    await page.bringToFront();

    // A device id with a space and a key that is not one: both named, with their paths, as check-config names them.
    const bad = original.replace("  - id: board\n", '  - id: "a b"\n').replace("node_id: test\n", "node_id: test\nlog_levle: debug\n");
    expect(await submit(page, bad, "Check")).toBe(422);
    expect(await page.$eval("#check", (e) => (e as unknown as { dataset: { valid: string } }).dataset.valid)).toBe("false");
    expect(await textOf(page, "#check pre")).toBe(`${link}: invalid`);
    const problems = await problemsOf(page);
    expect(problems.some((p) => p.startsWith("devices[0].id:"))).toBe(true);
    expect(problems.some((p) => p.includes("log_levle") && p.includes("log_level"))).toBe(true);
    // The edited text stays in the editor; saving it is refused in the same words, and nothing is written.
    expect(await page.$eval("textarea", (e) => (e as unknown as { value: string }).value)).toBe(bad);
    expect(await submit(page, bad, "Save and reload")).toBe(422);
    expect(await problemsOf(page)).toEqual(problems);
    expect(readFileSync(file.path, "utf8")).toBe(original);
    expect(existsSync(`${link}.bak`)).toBe(false);
    expect([...service.devices.entries.keys()]).toEqual(["board"]);

    // Valid, but refused as a reload refuses it: no devices key would remove every device. And no password written in the file from here.
    expect(await submit(page, original.slice(0, original.indexOf("devices:")), "Save and reload")).toBe(422);
    expect((await problemsOf(page))[0]).toContain("it would remove every device (board)");
    expect(await submit(page, original.replace("mqtt://", "mqtt://hearth:typed-secret@"), "Save and reload")).toBe(422);
    expect((await problemsOf(page))[0]).toContain("the MQTT password is written in the file (mqtt.url)");
    expect(readFileSync(file.path, "utf8")).toBe(original);

    // A second board, and an mqtt setting that waits for a restart.
    const good = `${original.replace("max_payload: 1024", "max_payload: 2048")}  - id: board2\n    name: Second board\n    model: hearth-io\n    port: sim\n`;
    expect(await submit(page, good, "Check")).toBe(200);
    expect(await textOf(page, "#check pre")).toContain(`${link}: valid`);
    expect(await textOf(page, "#check pre")).toContain("board2: hearth-io on sim");
    expect(readFileSync(file.path, "utf8")).toBe(original); // a check writes nothing

    expect(await submit(page, good, "Save and reload")).toBe(200);
    expect(await textOf(page, '[data-reload="added"]')).toBe("added: board2");
    expect(await textOf(page, '[data-reload="removed"]')).toBe("removed: none");
    expect(await textOf(page, "[data-note]")).toContain("mqtt settings changed (max_payload)");
    expect(await textOf(page, "#saved code")).toBe(`${link}.bak`);
    expect(readFileSync(file.path, "utf8")).toBe(good);
    expect(readFileSync(`${link}.bak`, "utf8")).toBe(original);
    expect(statSync(file.path).mode & 0o777).toBe(0o640);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readdirSync(file.dir).sort()).toEqual(["hearth.yaml", "linked.yaml", "linked.yaml.bak"]); // no temporary file left
    expect(service.devices.entries.get("board2")?.config.name).toBe("Second board");
    // The editor now holds the file as written, for the next edit.
    expect(await page.$eval("textarea", (e) => (e as unknown as { value: string }).value)).toBe(good);

    // A save from a page showing the file as it was before is refused: the file changed since.
    await stale.bringToFront();
    expect(await submit(stale, `${original}  - id: board3\n    model: hearth-io\n    port: sim\n`, "Save and reload")).toBe(422);
    expect((await problemsOf(stale))[0]).toContain("changed since the page showed it");
    expect(readFileSync(file.path, "utf8")).toBe(good);

    // Without the session's CSRF token, refused before anything is read.
    const refused = await page.evaluate(async () => {
      const response = await fetch("/config/save", { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: "text=devices%3A%20%5B%5D" });
      return response.status;
    });
    expect(refused).toBe(403);
    expect(readFileSync(file.path, "utf8")).toBe(good);
  });
}, 30_000);

test("with the embedded defaults there is no file to edit, and a file with the MQTT password inline is not shown", async () => {
  const b = await broker();
  const secret = "inline-secret-5d1c";
  const file = configFile(yaml(b.url.replace("mqtt://", `mqtt://hearth:${secret}@`), ["board"], HTTP));
  const original = readFileSync(file.path, "utf8");
  // The same configuration, run as if it had come from no file (the embedded defaults' case).
  const { service: noFile } = await hearth(file, { configFile: undefined });
  const { service } = await hearth(file);

  await inBrowser(async (page) => {
    await page.goto(new URL("/config", noFile.http!.url).href);
    expect(await textOf(page, "#no-file")).toContain("embedded defaults");
    expect(await page.$$("textarea, form[action='/config/save'], button")).toHaveLength(0);

    await page.goto(new URL("/config", service.http!.url).href);
    expect(await textOf(page, "#hidden")).toContain("mqtt.url");
    expect(await page.$$("textarea")).toHaveLength(0);
    expect(await page.content()).not.toContain(secret);
  });
  expect(readFileSync(file.path, "utf8")).toBe(original);
}, 30_000);
