import { expect, test } from "bun:test";
import { Deque } from "../../../src/core/executor/deque.ts";
import { LatencyWindow } from "../../../src/core/executor/latency.ts";

test("latency percentiles are nearest-rank over the samples", () => {
  const window = new LatencyWindow(1000);
  for (let ms = 1; ms <= 100; ms++) window.add(ms);
  expect(window.percentiles()).toEqual({ p50: 50, p90: 90, p99: 99, samples: 100 });
});

test("the latency window keeps only the most recent samples", () => {
  const window = new LatencyWindow(10);
  for (let i = 0; i < 100; i++) window.add(1000);
  for (let i = 0; i < 10; i++) window.add(1);
  expect(window.percentiles()).toEqual({ p50: 1, p90: 1, p99: 1, samples: 10 });
});

test("an empty latency window reports zeros", () => {
  expect(new LatencyWindow().percentiles()).toEqual({ p50: 0, p90: 0, p99: 0, samples: 0 });
});

test("the queue is first in, first out across growth, and unshift puts an item first", () => {
  const queue = new Deque<number>();
  for (let i = 0; i < 40; i++) queue.push(i);
  for (let i = 0; i < 30; i++) expect(queue.shift()).toBe(i);
  for (let i = 40; i < 80; i++) queue.push(i);
  queue.unshift(29);
  expect(queue.length).toBe(51);
  expect(queue.drain()).toEqual(Array.from({ length: 51 }, (_, i) => i + 29));
  expect(queue.shift()).toBeUndefined();
});
