/**
 * The loop monitor's watchdog, a Worker: it wakes a few times per threshold, and when the loop's
 * heartbeat is older than the threshold it notes which job holds the loop (job-slot.ts), so the loop
 * can name the culprit once it runs again. Nothing here touches the loop's state.
 */
declare const self: Worker;

interface Start {
  buffer: SharedArrayBuffer;
  thresholdMs: number;
  tickMs: number;
}

self.onmessage = (event: MessageEvent<Start>) => {
  const { buffer, thresholdMs, tickMs } = event.data;
  const slot = new Int32Array(buffer, 0, 4);
  const beat = new Float64Array(buffer, 16, 1);
  const pollMs = Math.max(5, Math.floor(thresholdMs / 4));
  // Atomics.wait on the stop flag doubles as the sleep between checks; the loop wakes it to stop.
  while (Atomics.wait(slot, 2, 0, pollMs) !== "not-equal" && Atomics.load(slot, 2) === 0) {
    const age = Date.now() - (beat[0] ?? 0);
    if (age > Math.max(thresholdMs, tickMs * 2)) {
      const current = Atomics.load(slot, 0);
      if (current !== 0 || Atomics.load(slot, 1) === 0) Atomics.store(slot, 1, current === 0 ? -1 : current);
    }
  }
  self.postMessage("stopped");
};
