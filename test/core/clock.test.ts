import { expect, test } from "bun:test";
import { ManualClock } from "../../src/core/clock.ts";

test("a manual clock fires due timers in time order as it advances, and no others", () => {
  const clock = new ManualClock();
  const fired: string[] = [];
  clock.setTimeout(() => fired.push("300"), 300);
  clock.setTimeout(() => fired.push("100"), 100);
  clock.setTimeout(() => fired.push("1000"), 1_000);
  clock.advance(500);
  expect(fired).toEqual(["100", "300"]);
  expect(clock.now()).toBe(500);
  expect(clock.pending).toBe(1);
});

test("a timer set by a firing timer fires in the same advance when it falls due", () => {
  const clock = new ManualClock();
  const fired: number[] = [];
  clock.setTimeout(() => {
    fired.push(clock.now());
    clock.setTimeout(() => fired.push(clock.now()), 100);
  }, 100);
  clock.advance(250);
  expect(fired).toEqual([100, 200]);
});

test("a cleared timer never fires", () => {
  const clock = new ManualClock();
  let fired = false;
  const handle = clock.setTimeout(() => (fired = true), 10);
  clock.clearTimeout(handle);
  clock.advance(100);
  expect(fired).toBe(false);
  expect(clock.pending).toBe(0);
});
