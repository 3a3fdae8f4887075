import { expect, test } from "bun:test";
import { Histogram } from "../../src/core/histogram.ts";
import { Exposition } from "../../src/http/exposition.ts";
import { promtoolCheck } from "./scrape.ts";

test("a histogram counts each observation in the first bucket whose bound it does not pass, and is written cumulative, up to +Inf", async () => {
  const h = new Histogram([0.01, 0.1, 1]);
  for (const v of [0.005, 0.01, 0.05, 0.5, 3]) h.observe(v);
  expect(h.snapshot()).toEqual({ bounds: [0.01, 0.1, 1], counts: [2, 1, 1, 1], sum: 3.565, count: 5 });
  const text = new Exposition().histogram("hearth_x_seconds", "x", [{ labels: { device: "a" }, histogram: h.snapshot() }]).text();
  expect(text).toContain('hearth_x_seconds_bucket{device="a",le="0.01"} 2\n');
  expect(text).toContain('hearth_x_seconds_bucket{device="a",le="1"} 4\n');
  expect(text).toContain('hearth_x_seconds_bucket{device="a",le="+Inf"} 5\n');
  expect(text).toContain('hearth_x_seconds_count{device="a"} 5\n');
  expect((await promtoolCheck(text)).code).toBe(0);
  expect(() => new Histogram([1, 0.5])).toThrow(RangeError);
});

test("label values are escaped as the format says (a device id may hold a quote or a backslash), and promtool reads them", async () => {
  const text = new Exposition().counter("hearth_x_total", "A help text with a \\ backslash\nand a newline.", [{ labels: { device: 'say "hi"\\now\nthen' }, value: 1 }]).text();
  expect(text).toBe('# HELP hearth_x_total A help text with a \\\\ backslash\\nand a newline.\n# TYPE hearth_x_total counter\nhearth_x_total{device="say \\"hi\\"\\\\now\\nthen"} 1\n');
  const check = await promtoolCheck(text);
  expect(check.said).toBe("");
  expect(check.code).toBe(0);
});
