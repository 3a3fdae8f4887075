import { expect, test } from "bun:test";
import { ManualClock } from "../../src/core/clock.ts";
import { isTimeoutError, TimeoutError } from "../../src/core/errors.ts";
import { Hub } from "../../src/core/hub.ts";
import { TimeoutManager } from "../../src/core/timeout.ts";
import { settledWithinATurn } from "./helpers.ts";

function never<T = never>(): Promise<T> {
  return new Promise<T>(() => {});
}

function timeouts() {
  const clock = new ManualClock();
  return { clock, timeout: new TimeoutManager({ clock }) };
}

/** The outcome of `promise` once the loop has had a turn: "pending", "fulfilled" or the error it rejected with. */
async function outcome(promise: Promise<unknown>): Promise<"pending" | "fulfilled" | Error> {
  let result: "pending" | "fulfilled" | Error = "pending";
  promise.then(
    () => {
      result = "fulfilled";
    },
    (err: Error) => {
      result = err;
    },
  );
  await settledWithinATurn(promise);
  return result;
}

test("asyncTimeout raises TimeoutError once its seconds have passed", async () => {
  const { clock, timeout } = timeouts();
  const waiting = timeout.asyncTimeout(1).run(never());
  clock.advance(999);
  expect(await outcome(waiting)).toBe("pending");
  clock.advance(1);
  const err = await outcome(waiting);
  expect(err).toBeInstanceOf(TimeoutError);
  expect(isTimeoutError(err)).toBe(true);
  expect((err as Error).name).toBe("TimeoutError");
});

test("work that finishes in time gives its value and leaves no timer behind", async () => {
  const { clock, timeout } = timeouts();
  expect(await timeout.asyncTimeout(10).run(Promise.resolve("reply"))).toBe("reply");
  expect(clock.pending).toBe(0);
});

test("a failure of the work itself comes through unchanged", async () => {
  const { timeout } = timeouts();
  await expect(timeout.asyncTimeout(10).run(Promise.reject(new Error("port closed")))).rejects.toThrow("port closed");
});

test("work given as a function receives a signal that fires at the timeout", async () => {
  const { clock, timeout } = timeouts();
  let signal: AbortSignal | undefined;
  const waiting = timeout.asyncTimeout(2).run((s) => {
    signal = s;
    return never();
  });
  expect(signal?.aborted).toBe(false);
  clock.advance(2_000);
  expect(await outcome(waiting)).toBeInstanceOf(TimeoutError);
  expect(signal?.aborted).toBe(true);
  expect(signal?.reason).toBeInstanceOf(TimeoutError);
});

test("a timeout in a zone names the zone", async () => {
  const { clock, timeout } = timeouts();
  const waiting = timeout.asyncTimeout(1, { zone: "modbus" }).run(never());
  clock.advance(1_000);
  expect(((await outcome(waiting)) as Error).message).toBe("Timed out in zone modbus");
});

test("freezing a zone pauses its timeouts and leaves other zones running", async () => {
  const { clock, timeout } = timeouts();
  const setup = timeout.asyncTimeout(1, { zone: "setup" }).run(never());
  const mqtt = timeout.asyncTimeout(1, { zone: "mqtt" }).run(never());
  const freeze = timeout.freeze("setup");
  expect(timeout.isFrozen("setup")).toBe(true);
  expect(timeout.isFrozen("mqtt")).toBe(false);
  clock.advance(60_000);
  expect(await outcome(mqtt)).toBeInstanceOf(TimeoutError);
  expect(await outcome(setup)).toBe("pending");
  freeze.release();
  expect(timeout.isFrozen("setup")).toBe(false);
  clock.advance(999);
  expect(await outcome(setup)).toBe("pending");
  clock.advance(1);
  expect(await outcome(setup)).toBeInstanceOf(TimeoutError);
});

test("a freeze keeps the time already used: released, the timeout runs only what was left", async () => {
  const { clock, timeout } = timeouts();
  const scope = timeout.asyncTimeout(1, { zone: "setup" });
  const waiting = scope.run(never());
  clock.advance(600);
  const freeze = timeout.freeze("setup");
  clock.advance(10_000);
  expect(scope.remainingMs).toBe(400);
  freeze.release();
  clock.advance(399);
  expect(await outcome(waiting)).toBe("pending");
  clock.advance(1);
  expect(await outcome(waiting)).toBeInstanceOf(TimeoutError);
});

test("a freeze of no zone pauses every timeout", async () => {
  const { clock, timeout } = timeouts();
  const zoned = timeout.asyncTimeout(1, { zone: "setup" }).run(never());
  const plain = timeout.asyncTimeout(1).run(never());
  const freeze = timeout.freeze();
  clock.advance(60_000);
  expect(await outcome(zoned)).toBe("pending");
  expect(await outcome(plain)).toBe("pending");
  freeze.release();
  clock.advance(1_000);
  expect(await outcome(zoned)).toBeInstanceOf(TimeoutError);
  expect(await outcome(plain)).toBeInstanceOf(TimeoutError);
});

test("a timeout started in a frozen zone does not start counting until the release", async () => {
  const { clock, timeout } = timeouts();
  const freeze = timeout.freeze("setup");
  const waiting = timeout.asyncTimeout(1, { zone: "setup" }).run(never());
  clock.advance(5_000);
  expect(await outcome(waiting)).toBe("pending");
  freeze.release();
  clock.advance(1_000);
  expect(await outcome(waiting)).toBeInstanceOf(TimeoutError);
});

test("freezes nest: the zone runs again only when the last one is released, and releasing twice is harmless", async () => {
  const { clock, timeout } = timeouts();
  const waiting = timeout.asyncTimeout(1, { zone: "setup" }).run(never());
  const outer = timeout.freeze("setup");
  const inner = timeout.freeze("setup");
  inner.release();
  inner.release();
  clock.advance(5_000);
  expect(await outcome(waiting)).toBe("pending");
  outer.release();
  clock.advance(1_000);
  expect(await outcome(waiting)).toBeInstanceOf(TimeoutError);
});

test("a freeze held with `using` is released at the end of its block", () => {
  const { timeout } = timeouts();
  {
    using _freeze = timeout.freeze("flash");
    expect(timeout.isFrozen("flash")).toBe(true);
  }
  expect(timeout.isFrozen("flash")).toBe(false);
});

test("hub.timeout runs on the hub's clock", async () => {
  const clock = new ManualClock();
  const hub = new Hub({ clock });
  const waiting = hub.timeout.asyncTimeout(30, { zone: "startup" }).run(never());
  clock.advance(30_000);
  expect(await outcome(waiting)).toBeInstanceOf(TimeoutError);
});
