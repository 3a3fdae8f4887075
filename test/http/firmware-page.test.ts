import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inBrowser } from "../helpers/browser.ts";
import { buildFirmware, buildOptiboot, type EmulatedBoard, startEmulator } from "../helpers/simavr.ts";
import { tempDir } from "../helpers/temp.ts";
import { broker, cleanUpAfterEach, configFile, hearth } from "../mqtt/helpers.ts";

// A device's firmware updated from the console in a real browser (headless chromium): the real hearth-io
// firmware on an emulated ATmega328P with Optiboot, written by avrdude, as test/firmware/update.test.ts
// does it over MQTT (which says what of it is a stand-in: the reset a port's opening causes).
cleanUpAfterEach();

let out = "";
let v110 = "";
let board: EmulatedBoard | undefined;

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), "hearth-firmware-page-")); // for the whole file: tempDir's go after each test
  const a = await buildFirmware(join(out, "a"));
  v110 = (await buildFirmware(join(out, "b"), ["FIRMWARE_VERSION=1.1.0"])).hex;
  board = await startEmulator(a.harness, ["--bootloader", await buildOptiboot(join(out, "a")), "--reset-on-open", a.hex]);
}, 180_000);

afterAll(async () => {
  await board?.stop();
  if (out !== "") rmSync(out, { recursive: true, force: true });
});

declare const document: { querySelector(selector: string): { textContent: string | null } | null };

test("the console offers a firmware update only where the model has one; a damaged image is refused, a good one written, each step shown", async () => {
  const b = await broker();
  const file = configFile(
    `node_id: test\nmqtt:\n  url: ${b.url}\n  base_topic: hearth/test\nhttp:\n  listen: 127.0.0.1:0\ndevices:\n  - id: mcu\n    model: hearth-io\n    port: ${board!.pty}\n  - id: other\n    model: hearth-io\n    port: sim\n    options: { interval: 60000 }\n`,
  );
  const { service } = await hearth(file, { dataDir: tempDir("hearth-firmware-page-data-") });
  for (const deadline = Date.now() + 20_000; service.devices.device("mcu")?.swVersion === undefined && Date.now() < deadline; ) await Bun.sleep(50);
  expect(service.devices.device("mcu")?.swVersion).toBe("1.0.0");
  const damaged = join(out, "damaged.hex");
  const lines = readFileSync(v110, "latin1").split(/\r?\n/);
  lines[2] = lines[2]!.replace(/.$/, (c) => (c === "0" ? "1" : "0"));
  writeFileSync(damaged, lines.join("\n"));

  await inBrowser(async (page) => {
    await page.goto(service.http!.url.href);
    // The simulated board has no firmware to write: no form on its card.
    expect(await page.$('[data-device="other"] details.firmware')).toBeNull();
    expect(await page.$eval('[data-device="mcu"] details.firmware summary', (e) => e.textContent)).toBe("Firmware 1.0.0: update");

    const write = async (image: string) => {
      await page.goto(service.http!.url.href);
      await page.waitForSelector("#live[data-live=on]", { timeout: 10_000 });
      await page.click('[data-device="mcu"] details.firmware summary');
      const input = await page.$('[data-device="mcu"] input[type=file][name=image]');
      await (input as unknown as { uploadFile(path: string): Promise<void> }).uploadFile(image);
      const [response] = await Promise.all([page.waitForNavigation({ timeout: 120_000 }), page.click('[data-device="mcu"] details.firmware button[type=submit]')]);
      const outcome = await page.$("[data-firmware-outcome]");
      if (outcome === null) throw new Error(`no outcome on the page (${response?.status()}): ${await response?.text()}`);
      return page.$eval("[data-firmware-outcome]", (e) => e.textContent ?? "");
    };
    expect(await write(damaged)).toBe(
      "Refused: mcu: firmware update refused, nothing was touched: the image is not a valid Intel HEX file for this device: line 3: the record fails its checksum (the file is damaged)",
    );
    expect(service.devices.device("mcu")?.available).toBe(true);

    expect(await write(v110)).toBe("Updated");
    const shown = await page.evaluate(() => document.querySelector("body")?.textContent ?? "");
    expect(shown).toContain("Version before: 1.0.0; after: 1.1.0");
    for (const step of ["check", "stop", "backup", "write", "hello"]) expect(shown).toContain(step);
  });
  expect(service.devices.device("mcu")?.swVersion).toBe("1.1.0");
}, 180_000);
