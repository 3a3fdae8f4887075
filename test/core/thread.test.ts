import { expect, test } from "bun:test";
import { Hub } from "../../src/core/hub.ts";

interface Reply {
  threw: boolean;
  code?: string;
  message?: string;
}

/** Asks a real Bun Worker to make `call` and resolves with what it threw. */
async function inWorker(call: "verify" | "start"): Promise<Reply> {
  const worker = new Worker(new URL("./fixtures/verify-thread-worker.ts", import.meta.url));
  try {
    return await new Promise<Reply>((resolve, reject) => {
      worker.onmessage = (e) => resolve(e.data as Reply);
      worker.onerror = (e) => reject(new Error(e.message));
      worker.postMessage(call);
    });
  } finally {
    worker.terminate();
  }
}

test("verifyEventLoopThread throws a clear error when called from a Worker", async () => {
  const reply = await inWorker("verify");
  expect(reply.threw).toBe(true);
  expect(reply.code).toBe("WRONG_THREAD");
  expect(reply.message).toContain("states.set");
  expect(reply.message).toContain("from a Worker");
  expect(reply.message).toContain("runCallbackThreadsafe");
});

test("verifyEventLoopThread passes on the loop thread", () => {
  expect(() => new Hub().verifyEventLoopThread("states.set")).not.toThrow();
});

test("a hub refuses to start from a Worker", async () => {
  const reply = await inWorker("start");
  expect(reply.code).toBe("WRONG_THREAD");
  expect(reply.message).toContain("hub.start");
});
