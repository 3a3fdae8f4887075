import { expect, test } from "bun:test";
import { ManualClock } from "../../src/core/clock.ts";
import { CancelledError, isCancelledError, TimeoutError } from "../../src/core/errors.ts";
import { abortable, boundedWait, sleep, within } from "../../src/core/wait.ts";
import { settledWithinATurn } from "./helpers.ts";

/** An AbortSignal that counts the abort listeners on it. */
function countedSignal(): { controller: AbortController; listeners: () => number } {
  const controller = new AbortController();
  const signal = controller.signal;
  let count = 0;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((...args: Parameters<typeof add>) => {
    count++;
    add(...args);
  }) as typeof add;
  signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
    count--;
    remove(...args);
  }) as typeof remove;
  return { controller, listeners: () => count };
}

test("sleep rejects with CancelledError when its signal fires", async () => {
  const controller = new AbortController();
  const slept = sleep(60_000, controller.signal);
  controller.abort();
  const err = await slept.catch((e: unknown) => e);
  expect(isCancelledError(err)).toBe(true);
});

test("abortable stops waiting when the signal fires, and passes the value through otherwise", async () => {
  const controller = new AbortController();
  const never = abortable(new Promise(() => {}), controller.signal);
  controller.abort(new CancelledError("link closed"));
  await expect(never).rejects.toThrow("link closed");
  expect(await abortable(Promise.resolve(7), new AbortController().signal)).toBe(7);
});

test("a sleep on a clock ends when that clock reaches it, and leaves no timer behind", async () => {
  const clock = new ManualClock();
  const slept = sleep(1000, undefined, clock);
  clock.advance(999);
  expect(await settledWithinATurn(slept)).toBe(false);
  clock.advance(1);
  expect(await settledWithinATurn(slept)).toBe(true);
  expect(clock.pending).toBe(0);
});

test("a wait that is answered first clears its timer, removes its abort listener and undoes its start", async () => {
  const clock = new ManualClock();
  const { controller, listeners } = countedSignal();
  let answer: ((value: string) => void) | undefined;
  let undone = 0;
  const waited = boundedWait<string>(
    (resolve) => {
      answer = resolve;
      return () => undone++;
    },
    { signal: controller.signal, timeoutMs: 5000, clock },
  );
  expect(listeners()).toBe(1);
  expect(clock.pending).toBe(1);
  answer!("reply");
  expect(await waited).toBe("reply");
  expect({ undone, listeners: listeners(), timers: clock.pending }).toEqual({ undone: 1, listeners: 0, timers: 0 });
  controller.abort();
  answer!("late");
  expect(undone).toBe(1);
});

test("a wait whose signal fires rejects with its reason and undoes its start; one already fired never starts", async () => {
  const controller = new AbortController();
  let undone = 0;
  const waited = boundedWait(() => () => undone++, { signal: controller.signal, timeoutMs: 60_000 });
  controller.abort(new CancelledError("device stopped"));
  await expect(waited).rejects.toThrow("device stopped");
  expect(undone).toBe(1);
  let started = false;
  const refused = boundedWait(
    () => {
      started = true;
    },
    { signal: controller.signal },
  );
  await expect(refused).rejects.toThrow("device stopped");
  expect(started).toBe(false);
});

test("a wait out of time rejects with a TimeoutError, or ends as its onTimeout says", async () => {
  const clock = new ManualClock();
  const plain = boundedWait(new Promise(() => {}), { timeoutMs: 200, clock });
  const valued = boundedWait<string>(() => {}, { timeoutMs: 200, clock, onTimeout: () => "gave up" });
  const refused = boundedWait(() => {}, {
    timeoutMs: 200,
    clock,
    onTimeout: () => {
      throw new Error("no reply within 200 ms");
    },
  });
  clock.advance(200);
  const err = await plain.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(TimeoutError);
  expect((err as TimeoutError).message).toBe("Timed out after 200 ms");
  expect(await valued).toBe("gave up");
  await expect(refused).rejects.toThrow("no reply within 200 ms");
});

test("a start that answers at once is still undone, and one that throws rejects the wait", async () => {
  let undone = 0;
  expect(
    await boundedWait<number>((resolve) => {
      resolve(1);
      return () => undone++;
    }),
  ).toBe(1);
  expect(undone).toBe(1);
  await expect(
    boundedWait(() => {
      throw new Error("port closed");
    }),
  ).rejects.toThrow("port closed");
});

test("within tells whether a promise settled, either way, before its time was up", async () => {
  const clock = new ManualClock();
  expect(await within(Promise.resolve(1), 100, clock)).toBe(true);
  expect(await within(Promise.reject(new Error("x")), 100, clock)).toBe(true);
  const late = within(new Promise(() => {}), 100, clock);
  clock.advance(100);
  expect(await late).toBe(false);
  expect(clock.pending).toBe(0);
});
