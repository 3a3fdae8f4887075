import { expect, test } from "bun:test";
import { formatLine } from "../../src/core/log-format.ts";

test("a log line reads as time, level, component, message and fields", () => {
  const line = JSON.stringify({ level: "warn", time: "2026-11-25T07:12:50.588Z", component: "loop", msg: "Job x held the loop", job: "x", heldMs: 412 });
  expect(formatLine(line, false)).toBe("07:12:50.588 WARN  [loop] Job x held the loop job=x heldMs=412\n");
});

test("an error's stack follows its line", () => {
  const line = JSON.stringify({ level: "error", time: "2026-11-25T07:12:50.588Z", msg: "failed", err: { message: "boom", stack: "Error: boom\n    at f (x.ts:1:1)" } });
  expect(formatLine(line, false)).toBe("07:12:50.588 ERROR failed\nError: boom\n    at f (x.ts:1:1)\n");
});

test("a line that is not JSON passes through unchanged", () => {
  expect(formatLine("plain text\n", false)).toBe("plain text\n");
});
