/**
 * A real browser for the web console's tests: Debian's chromium, headless, driven by puppeteer-core
 * (which downloads no browser), its profile in a temporary folder, a phone's width.
 */
import puppeteer, { type Page } from "puppeteer-core";
import { tempDir } from "./temp.ts";

/** Runs `use` with a fresh page of a headless chromium, closed after it however `use` ends. */
export async function inBrowser(use: (page: Page) => Promise<void>): Promise<void> {
  const browser = await puppeteer.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    userDataDir: tempDir("hearth-chromium-"),
    args: [...(process.getuid?.() === 0 ? ["--no-sandbox"] : []), "--disable-gpu", "--no-first-run"],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 390, height: 844 });
    await use(page);
  } finally {
    await browser.close();
  }
}
