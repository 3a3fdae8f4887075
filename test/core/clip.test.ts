import { expect, test } from "bun:test";
import { clip, clipJson } from "../../src/core/clip.ts";

test("a short text is quoted whole", () => {
  expect(clip("abc")).toBe("abc");
});

test("a long text is cut, and says how much was cut", () => {
  const out = clip("x".repeat(65_536), 10);
  expect(out).toBe(`${"x".repeat(10)}… (65526 more characters)`);
});

test("a value is quoted as JSON, clipped", () => {
  expect(clipJson({ a: "y".repeat(500) }, 20).length).toBeLessThan(60);
  expect(clipJson("ON")).toBe('"ON"');
});
