import { expect, test } from "bun:test";
import { isHearthError } from "../../src/core/errors.ts";
import { gatherWithLimitedConcurrency } from "../../src/core/gather.ts";
import { nextTurn, settledWithinATurn } from "./helpers.ts";

/** Thunks whose promises the test settles by hand, counting how many run at once. */
function controlledThunks(count: number) {
  let running = 0;
  let peak = 0;
  const started: number[] = [];
  const gates = Array.from({ length: count }, () => Promise.withResolvers<string>());
  const thunks = gates.map((gate, i) => () => {
    started.push(i);
    running++;
    peak = Math.max(peak, running);
    return gate.promise.finally(() => {
      running--;
    });
  });
  return {
    thunks,
    started,
    gates,
    get peak() {
      return peak;
    },
  };
}

test("never more than `limit` thunks run at once, and the limit is used in full", async () => {
  const work = controlledThunks(10);
  const gathering = gatherWithLimitedConcurrency(3, work.thunks);
  expect(work.started).toEqual([0, 1, 2]);
  // Finish them out of order, one at a time, letting the next start each time.
  for (const i of [1, 0, 2, 4, 3, 5, 9, 6, 8, 7]) {
    await nextTurn();
    work.gates[i]!.resolve(`device ${i}`);
  }
  await gathering;
  expect(work.peak).toBe(3);
  expect(work.started).toHaveLength(10);
});

test("results come in the order of the thunks, whatever order they finish in", async () => {
  const work = controlledThunks(4);
  const gathering = gatherWithLimitedConcurrency(4, work.thunks);
  for (const i of [3, 1, 2, 0]) work.gates[i]!.resolve(`device ${i}`);
  expect(await gathering).toEqual(["device 0", "device 1", "device 2", "device 3"]);
});

test("a thunk starts only when a running one finishes", async () => {
  const work = controlledThunks(3);
  const gathering = gatherWithLimitedConcurrency(1, work.thunks);
  await settledWithinATurn(gathering);
  expect(work.started).toEqual([0]);
  work.gates[0]!.resolve("a");
  await settledWithinATurn(gathering);
  expect(work.started).toEqual([0, 1]);
  work.gates[1]!.resolve("b");
  work.gates[2]!.resolve("c");
  expect(await gathering).toEqual(["a", "b", "c"]);
});

test("with returnExceptions each error takes its thunk's place and the others still run", async () => {
  const results = await gatherWithLimitedConcurrency(
    2,
    [
      async () => "meter 1",
      async () => {
        throw new Error("meter 2 did not answer");
      },
      () => {
        throw new Error("meter 3 is unplugged"); // a thunk that throws before returning a promise
      },
      async () => "meter 4",
    ],
    { returnExceptions: true },
  );
  expect(results[0]).toBe("meter 1");
  expect((results[1] as Error).message).toBe("meter 2 did not answer");
  expect((results[2] as Error).message).toBe("meter 3 is unplugged");
  expect(results[3]).toBe("meter 4");
});

test("without returnExceptions the first error rejects the gather and no further thunk starts", async () => {
  const work = controlledThunks(5);
  const gathering = gatherWithLimitedConcurrency(2, work.thunks);
  work.gates[1]!.reject(new Error("bus error"));
  await expect(gathering).rejects.toThrow("bus error");
  work.gates[0]!.resolve("late");
  await nextTurn();
  expect(work.started).toEqual([0, 1]);
});

test("an empty list gathers to an empty list", async () => {
  expect(await gatherWithLimitedConcurrency(3, [])).toEqual([]);
});

test("a limit below one is refused", async () => {
  const err = await gatherWithLimitedConcurrency(0, [async () => 1]).catch((e: unknown) => e);
  expect(isHearthError(err, "INVALID_ARGUMENT")).toBe(true);
});

test("an aborted signal stops thunks from starting and rejects with its reason", async () => {
  const work = controlledThunks(3);
  const controller = new AbortController();
  const gathering = gatherWithLimitedConcurrency(1, work.thunks, { signal: controller.signal });
  controller.abort(new Error("shutting down"));
  work.gates[0]!.resolve("first");
  await expect(gathering).rejects.toThrow("shutting down");
  expect(work.started).toEqual([0]);
});

test("with returnExceptions a thrown non-Error takes its place as NON_ERROR_THROWN, the value kept as its cause", async () => {
  const results = await gatherWithLimitedConcurrency(2, [() => Promise.reject("bus fault"), async () => "meter 2"], { returnExceptions: true });
  expect(isHearthError(results[0], "NON_ERROR_THROWN")).toBe(true);
  expect((results[0] as Error).message).toBe("bus fault");
  expect((results[0] as Error).cause).toBe("bus fault");
  expect(results[1]).toBe("meter 2");
});
