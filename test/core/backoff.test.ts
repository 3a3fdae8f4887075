import { expect, test } from "bun:test";
import { backoffDelay } from "../../src/core/backoff.ts";

test("retry delays double from the first one up to the cap", () => {
  const middle = () => 0.5; // no jitter
  const delays = [0, 1, 2, 3, 4, 5, 10].map((a) => backoffDelay(a, { initialMs: 250, maxMs: 3000, factor: 2, jitter: 0.2 }, middle));
  expect(delays).toEqual([250, 500, 1000, 2000, 3000, 3000, 3000]);
});

test("jitter spreads each delay by up to the given fraction either way, never past the cap", () => {
  const options = { initialMs: 1000, maxMs: 1500, jitter: 0.2 };
  expect(backoffDelay(0, options, () => 0)).toBe(800);
  expect(backoffDelay(0, options, () => 0.999999)).toBe(1200);
  expect(backoffDelay(5, options, () => 0)).toBe(1200);
  expect(backoffDelay(5, options, () => 0.999999)).toBe(1500);
});

test("by default a delay doubles per attempt and spreads by ±20%", () => {
  const options = { initialMs: 5000, maxMs: 300_000 };
  expect([0, 1, 2, 6, 7].map((a) => backoffDelay(a, options, () => 0.5))).toEqual([5000, 10_000, 20_000, 300_000, 300_000]);
  expect(backoffDelay(1, options, () => 0)).toBe(8000);
  expect(backoffDelay(1, options, () => 0.999999)).toBe(12_000);
});
