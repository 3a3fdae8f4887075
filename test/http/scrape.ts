/** Reading a real /metrics scrape in the tests: one sample's value, and Prometheus's own promtool on the whole text. */
import { expect } from "bun:test";

/** GET /metrics of a running hearth's web server; fails unless it answers 200 in the exposition format. */
export async function scrape(base: URL, init: RequestInit = {}): Promise<string> {
  const response = await fetch(new URL("/metrics", base), init);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
  return response.text();
}

/** Scrapes until `done` holds of the text (a deadline, not a sleep a slow machine could outrun); the last scrape. */
export async function scrapeUntil(base: URL, done: (text: string) => boolean, what: string, ms = 10_000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const text = await scrape(base);
    if (done(text)) return text;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s; the last scrape:\n${text}`);
    await Bun.sleep(50);
  }
}

/** The value of the sample `name{labels}` (labels in the order written), or undefined when there is none. */
export function sample(text: string, name: string, labels = ""): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

/** `promtool check metrics` (Debian's prometheus package) on a scrape: its exit code and what it said. */
export async function promtoolCheck(text: string): Promise<{ code: number; said: string }> {
  const child = Bun.spawn(["promtool", "check", "metrics"], { stdin: new Blob([text]), stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, said: out + err };
}
