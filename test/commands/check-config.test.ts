import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// `hearth check-config` as a user runs it: a process of its own on a file; it binds no port.
const root = join(import.meta.dir, "..", "..");
const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function checkConfig(text: string): Promise<{ code: number; out: string; err: string; file: string }> {
  const dir = mkdtempSync(join(tmpdir(), "hearth-check-config-"));
  dirs.push(dir);
  const file = join(dir, "hearth.yaml");
  writeFileSync(file, text);
  const child = Bun.spawn([process.execPath, join(root, "src/cli.ts"), "check-config", file], { cwd: root, stdout: "pipe", stderr: "pipe" });
  const [code, out, err] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()]);
  return { code, out, err, file };
}

test("check-config lists every problem of a file in one run: bad values, unknown keys, a duplicate id and an unknown model", async () => {
  const { code, out, err, file } = await checkConfig(
    [
      "log_level: loud",
      "devices:",
      "  - { id: meter, model: hearth-io, port: /dev/ttyUSB0, baud: fast }",
      "  - { id: meter, model: hearth-io, port: sim }",
      "  - { id: gps, model: nmea-gpz, port: /dev/ttyUSB1 }",
      "  - { id: board, model: hearth-io, port: sim, pol_interval: 5 }",
      "",
    ].join("\n"),
  );
  expect(code).toBe(2);
  expect(out).toBe("");
  const lines = err.trimEnd().split("\n");
  expect(lines[0]).toBe(`${file}: invalid`);
  const problems = lines.slice(1).map((l) => l.trim());
  expect(problems).toHaveLength(5);
  expect(problems).toContain('devices[0].baud: expected one of 1200…921600, got "fast"');
  expect(problems).toContain('devices[1].id: duplicate id (devices[0] has it too), got "meter"');
  expect(problems.find((p) => p.startsWith("devices[2].model:"))).toStartWith('devices[2].model: unknown model "nmea-gpz" (did you mean "nmea-gps"?)');
  expect(problems).toContain('devices[3].pol_interval: unknown key (did you mean "poll_interval"?)');
  expect(problems.find((p) => p.startsWith("log_level:"))).toContain('got "loud"');
});

test("check-config passes the same devices once their problems are fixed", async () => {
  const { code, out, err } = await checkConfig(
    [
      "devices:",
      "  - { id: meter, model: hearth-io, port: /dev/ttyUSB0, baud: 115200 }",
      "  - { id: meter2, model: hearth-io, port: sim }",
      "  - { id: gps, model: nmea-gps, port: /dev/ttyUSB1 }",
      "  - { id: board, model: hearth-io, port: sim, poll_interval: 5 }",
      "",
    ].join("\n"),
  );
  expect(err).toBe("");
  expect(code).toBe(0);
  expect(out).toContain("devices: 4");
});
