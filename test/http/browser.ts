import { afterAll } from "bun:test";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { tempDir } from "../helpers/temp.ts";

// Debian's chromium, headless, driven by puppeteer-core: the browser the web console's tests use.

const browsers = new Set<Browser>();
afterAll(async () => {
  for (const b of browsers) await b.close().catch(() => {});
});

/** Runs `use` with a fresh page of a headless chromium (its profile in a temporary folder), closed after it. */
export async function inBrowser(use: (page: Page) => Promise<void>): Promise<void> {
  const browser = await puppeteer.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    userDataDir: tempDir("hearth-chromium-"),
    args: [...(process.getuid?.() === 0 ? ["--no-sandbox"] : []), "--disable-gpu", "--no-first-run"],
  });
  browsers.add(browser);
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 390, height: 844 }); // a phone's width
    await use(page);
  } finally {
    browsers.delete(browser);
    await browser.close();
  }
}
