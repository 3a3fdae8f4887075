import { expect, test } from "bun:test";
import { ManualClock } from "../../src/core/clock.ts";
import { LOG_BURST, LogLimiter } from "../../src/core/log-limiter.ts";
import { createLogger, MemoryLogDestination } from "../../src/core/logger.ts";

function limited(options: { burst?: number; intervalMs?: number } = {}) {
  const clock = new ManualClock();
  const logs = new MemoryLogDestination();
  const limiter = new LogLimiter({ log: createLogger({ level: "debug", destination: logs }), clock, ...options });
  return { clock, logs, limiter };
}

test("a flood of one key logs the first few lines, then one line with the count when the interval ends", () => {
  const { clock, logs, limiter } = limited();
  for (let i = 0; i < 5000; i++) limiter.log("warn", "device error", { code: "bad_value" }, `Device reported an error: ${i}`);
  expect(logs.lines.map((l) => l.msg)).toEqual(Array.from({ length: LOG_BURST }, (_, i) => `Device reported an error: ${i}`));
  clock.advance(59_999);
  expect(logs.lines).toHaveLength(LOG_BURST);
  clock.advance(1);
  expect(logs.lines).toHaveLength(LOG_BURST + 1);
  const summary = logs.lines.at(-1)!;
  expect(summary).toMatchObject({ level: "warn", code: "bad_value", repeated: 5000 - LOG_BURST });
  expect(summary.msg).toBe(`Device reported an error: 4999 (repeated ${5000 - LOG_BURST} more times in the last 60 s)`);
  expect(clock.pending).toBe(0);
});

test("keys are limited apart, and a key that stays under its limit never gets a summary", () => {
  const { clock, logs, limiter } = limited({ burst: 2 });
  for (let i = 0; i < 3; i++) limiter.log("info", "a", {}, "a");
  limiter.log("info", "b", {}, "b");
  clock.advance(60_000);
  expect(logs.lines.map((l) => l.msg)).toEqual(["a", "a", "b", "a (repeated 1 more time in the last 60 s)"]);
});

test("after an interval a key starts afresh", () => {
  const { clock, logs, limiter } = limited({ burst: 1, intervalMs: 1000 });
  limiter.log("info", "k", {}, "one");
  limiter.log("info", "k", {}, "two");
  clock.advance(1000);
  limiter.log("info", "k", {}, "three");
  expect(logs.lines.map((l) => l.msg)).toEqual(["one", "two (repeated 1 more time in the last 1 s)", "three"]);
});

test("allow() limits anything, not only log lines; stop() tells what was held back and clears the timers", () => {
  const clock = new ManualClock();
  const limiter = new LogLimiter({ clock, burst: 1 });
  const told: Array<[number, number]> = [];
  expect(limiter.allow("reboot", () => {})).toBe(true);
  for (let i = 0; i < 9; i++) expect(limiter.allow("reboot", (count, seconds) => told.push([count, seconds]))).toBe(false);
  clock.advance(12_000);
  limiter.stop();
  expect(told).toEqual([[9, 12]]);
  expect(clock.pending).toBe(0);
  limiter.stop();
  expect(told).toHaveLength(1);
});
