import { expect, test } from "bun:test";
import { LogRing, MAX_LINE_CHARS } from "../../src/core/log-ring.ts";
import { createLogger, MemoryLogDestination } from "../../src/core/logger.ts";

test("the ring keeps the last lines, oldest first, each cut to a bounded length, and tells its listeners", () => {
  const ring = new LogRing(3);
  const heard: string[] = [];
  const off = ring.listen((line) => heard.push(line));
  for (const n of [1, 2, 3, 4, 5]) ring.push(`line ${n}\n`);
  expect(ring.lines()).toEqual(["line 3", "line 4", "line 5"]);
  expect(heard).toHaveLength(5);
  off();
  ring.push("x".repeat(MAX_LINE_CHARS * 2));
  expect(heard).toHaveLength(5);
  expect(ring.lines().at(-1)).toHaveLength(MAX_LINE_CHARS + 1);
});

test("a logger with a tee hands the ring each line its destination gets, redacted", () => {
  const ring = new LogRing();
  const written = new MemoryLogDestination();
  const log = createLogger({ level: "info", destination: written, tee: ring });
  log.info({ mqtt: { password: "hunter2" } }, "connecting");
  log.debug("not at this level");
  expect(ring.lines()).toHaveLength(1);
  expect(JSON.parse(ring.lines()[0]!)).toEqual(written.lines[0]!);
  expect(ring.lines()[0]).toContain('"password":"***"');
  expect(ring.lines()[0]).not.toContain("hunter2");
});
