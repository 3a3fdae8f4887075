import { expect, test } from "bun:test";
import { CancelledError, isHearthError } from "../../src/core/errors.ts";
import { Lock, Semaphore } from "../../src/core/semaphore.ts";
import { nextTurn } from "./helpers.ts";

test("a semaphore lets at most its permits run at once", async () => {
  const semaphore = new Semaphore(2);
  let running = 0;
  let peak = 0;
  const gates = Array.from({ length: 6 }, () => Promise.withResolvers<void>());
  const runs = gates.map((gate) =>
    semaphore.run(async () => {
      running++;
      peak = Math.max(peak, running);
      await gate.promise;
      running--;
    }),
  );
  await nextTurn();
  expect(running).toBe(2);
  expect(semaphore.waiting).toBe(4);
  for (const gate of gates) {
    gate.resolve();
    await nextTurn();
  }
  await Promise.all(runs);
  expect(peak).toBe(2);
  expect(semaphore.available).toBe(2);
});

test("waiters get the permit in the order they asked for it", async () => {
  const semaphore = new Semaphore(1);
  const release = await semaphore.acquire();
  const order: string[] = [];
  const waiters = ["first", "second", "third"].map((name) =>
    semaphore.acquire().then((next) => {
      order.push(name);
      next();
    }),
  );
  release();
  await Promise.all(waiters);
  expect(order).toEqual(["first", "second", "third"]);
});

test("a newcomer never overtakes a waiter, even at the instant a permit is freed", async () => {
  const semaphore = new Semaphore(1);
  const release = await semaphore.acquire();
  const order: string[] = [];
  const waiter = semaphore.acquire().then((next) => {
    order.push("waiter");
    return next;
  });
  release(); // the permit passes to the waiter, which has not run yet
  expect(semaphore.tryAcquire()).toBeUndefined();
  const newcomer = semaphore.acquire().then((next) => {
    order.push("newcomer");
    next();
  });
  (await waiter)();
  await newcomer;
  expect(order).toEqual(["waiter", "newcomer"]);
});

test("tryAcquire takes a free permit at once, and nothing when none is free", () => {
  const semaphore = new Semaphore(1);
  const release = semaphore.tryAcquire();
  expect(release).toBeDefined();
  expect(semaphore.available).toBe(0);
  expect(semaphore.tryAcquire()).toBeUndefined();
  release!();
  expect(semaphore.available).toBe(1);
});

test("releasing the same permit twice gives back only one", async () => {
  const semaphore = new Semaphore(2);
  const release = await semaphore.acquire();
  release();
  release();
  expect(semaphore.available).toBe(2);
});

test("an aborted waiter leaves the queue with the signal's reason, and the permit goes to the next one", async () => {
  const semaphore = new Semaphore(1);
  const release = await semaphore.acquire();
  const controller = new AbortController();
  const impatient = semaphore.acquire(controller.signal);
  let patientGotIt = false;
  const patient = semaphore.acquire().then((next) => {
    patientGotIt = true;
    next();
  });
  expect(semaphore.waiting).toBe(2);
  controller.abort(new CancelledError("command timed out"));
  await expect(impatient).rejects.toThrow("command timed out");
  expect(semaphore.waiting).toBe(1);
  release();
  await patient;
  expect(patientGotIt).toBe(true);
  expect(semaphore.available).toBe(1);
});

test("acquiring with a signal that already fired fails at once without taking a permit", async () => {
  const semaphore = new Semaphore(1);
  const controller = new AbortController();
  controller.abort(new CancelledError("too late"));
  await expect(semaphore.acquire(controller.signal)).rejects.toThrow("too late");
  expect(semaphore.available).toBe(1);
});

test("run gives the permit back when its function throws", async () => {
  const semaphore = new Semaphore(1);
  await expect(
    semaphore.run(async () => {
      throw new Error("write failed");
    }),
  ).rejects.toThrow("write failed");
  expect(semaphore.available).toBe(1);
});

test("a semaphore needs at least one permit", () => {
  let caught: unknown;
  try {
    new Semaphore(0);
  } catch (err) {
    caught = err;
  }
  expect(isHearthError(caught, "INVALID_ARGUMENT")).toBe(true);
});

test("a lock lets one holder in at a time and says whether it is held", async () => {
  const lock = new Lock();
  expect(lock.locked).toBe(false);
  const gate = Promise.withResolvers<void>();
  const log: string[] = [];
  const first = lock.run(async () => {
    log.push("first in");
    await gate.promise;
    log.push("first out");
  });
  const second = lock.run(async () => {
    log.push("second in");
  });
  await nextTurn();
  expect(lock.locked).toBe(true);
  expect(lock.waiting).toBe(1);
  expect(log).toEqual(["first in"]);
  gate.resolve();
  await Promise.all([first, second]);
  expect(log).toEqual(["first in", "first out", "second in"]);
  expect(lock.locked).toBe(false);
});

test("a lock serves its waiters first come, first served", async () => {
  const lock = new Lock();
  const release = await lock.acquire();
  const order: number[] = [];
  const runs = [1, 2, 3, 4].map((n) => lock.run(() => order.push(n)));
  release();
  await Promise.all(runs);
  expect(order).toEqual([1, 2, 3, 4]);
});

test("an aborted lock waiter gives up without ever holding the lock", async () => {
  const lock = new Lock();
  const release = await lock.acquire();
  const controller = new AbortController();
  let ran = false;
  const waiting = lock.run(() => {
    ran = true;
  }, controller.signal);
  controller.abort(new CancelledError("gave up"));
  await expect(waiting).rejects.toThrow("gave up");
  release();
  expect(ran).toBe(false);
  expect(lock.locked).toBe(false);
});
