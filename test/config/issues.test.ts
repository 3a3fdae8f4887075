import { expect, test } from "bun:test";
import { z } from "zod";
import { describeIssues, formatIssues, formatPath } from "../../src/config/issues.ts";

const Schema = z.strictObject({
  devices: z.array(z.strictObject({ id: z.string(), baud: z.number(), poll_interval: z.number().optional() })),
});

function problems(input: unknown, context: Parameters<typeof formatIssues>[1] = { schema: Schema, input }): string[] {
  const parsed = Schema.safeParse(input);
  if (parsed.success) throw new Error("expected the input to be refused");
  return formatIssues(parsed.error.issues, context);
}

const three = (third: Record<string, unknown>) => ({
  devices: [
    { id: "a", baud: 1 },
    { id: "b", baud: 2 },
    { id: "c", ...third },
  ],
});

test("each problem starts with its path as a user reads YAML, and says what it got", () => {
  expect(problems(three({ baud: "fast" }))).toEqual(['devices[2].baud: expected number, received string, got "fast"']);
  expect(problems(three({}))).toEqual(["devices[2].baud: expected number, received undefined, got nothing"]);
});

test("an unknown key gets a did-you-mean from the schema when one is close, else the keys known there", () => {
  expect(problems(three({ baud: 3, pol_interval: 5, zzzzzzzz: 1 }))).toEqual([
    'devices[2].pol_interval: unknown key (did you mean "poll_interval"?)',
    "devices[2].zzzzzzzz: unknown key (known: id, baud, poll_interval)",
  ]);
});

test("the place of a part in a larger document goes before every path", () => {
  const input = three({ baud: "fast" });
  expect(problems(input, { input, at: ["options", "registers"] })).toEqual(['options.registers.devices[2].baud: expected number, received string, got "fast"']);
});

test("a key quoted back in a path is clipped, and the top level is named", () => {
  expect(formatPath(["devices", 0, "k".repeat(500)])).toBe(`devices[0].${"k".repeat(64)}… (436 more characters)`);
  expect(formatPath([])).toBe("(top level)");
});

test("describeIssues puts every problem on one line, without a got when it was not given the input", () => {
  const parsed = Schema.safeParse({ devices: [{ id: 1, baud: "x" }], extra: true });
  expect(parsed.success).toBe(false);
  expect(describeIssues(parsed.error!)).toBe("devices[0].id: expected string, received number; devices[0].baud: expected number, received string; extra: unknown key");
});
