import { type BlockingCallMode, setBlockingCallReporter } from "./blocking-calls.ts";
import { scriptOrOwn, type WorkerScript } from "./executor/spawn.ts";
import { Histogram, type HistogramSnapshot, LAG_BUCKETS_S } from "./histogram.ts";
import type { Hub } from "./hub.ts";
import { callback } from "./job.ts";
import { heartbeat, JOB_SLOT_BUFFER, jobNameOf, jobSlot, SLOT_BLOCKED, SLOT_STOP } from "./job-slot.ts";
import type { Logger } from "./logger.ts";

export interface LoopMonitorOptions {
  /** A callback or task step holding the loop longer than this (ms) is logged by name. */
  slowThresholdMs?: number;
  /** What to do about blocking calls (sync fs, sleepSync, spawnSync) on the loop while running. */
  blockingCalls?: BlockingCallMode;
  /** What the watchdog Worker starts on (the composition root's entry); default, from source only: ./loop-watchdog.ts. */
  watchdogScript?: WorkerScript;
}

/** Loop lag figures, for bridge/info. */
export interface LoopStats {
  /** Lag of the latest tick, ms. */
  lagMs: number;
  /** Exponentially weighted mean lag, ms. */
  meanLagMs: number;
  maxLagMs: number;
  /** Times the loop was held longer than the threshold. */
  blocked: number;
  /** Blocking calls seen on the loop. */
  blockingCalls: number;
}

/** The loop's figures that only /metrics shows. */
export interface LoopLagMetrics {
  lag: HistogramSnapshot;
  heldSeconds: number;
}

/**
 * Watches the loop (HA's slow-callback and blocking-call warnings): a tick measures lag, a watchdog
 * Worker names the job that held the loop when a tick came late, and blocking calls made on the loop
 * while the hub runs are reported with the caller's stack.
 */
export class LoopMonitor {
  private readonly hub: Hub;
  private readonly log: Logger;
  readonly thresholdMs: number;
  readonly tickMs: number;
  private readonly blockingCalls: BlockingCallMode;
  private readonly watchdogScript: WorkerScript | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private watchdog: Worker | undefined;
  private lastTick = 0;
  /** When the hub began running (Date.now()); holds that began before it belong to start-up. */
  private runningSince = Number.POSITIVE_INFINITY;
  private readonly figures: LoopStats = { lagMs: 0, meanLagMs: 0, maxLagMs: 0, blocked: 0, blockingCalls: 0 };
  /** Every tick's lag, in seconds, for /metrics (bridge/info shows the figures above). */
  private readonly lag = new Histogram(LAG_BUCKETS_S);
  /** About how long the loop was held past the threshold, in all, seconds. */
  private heldSeconds = 0;
  private unlisten: Array<() => void> = [];
  private stopped: Promise<void> | undefined;

  constructor(deps: { hub: Hub; log?: Logger } & LoopMonitorOptions) {
    this.hub = deps.hub;
    this.log = deps.log ?? deps.hub.log.child({ component: "loop" });
    this.thresholdMs = deps.slowThresholdMs ?? 100;
    // A tick four times per threshold: a late tick tells how long the loop was held to within a quarter of it.
    this.tickMs = Math.max(5, Math.floor(this.thresholdMs / 4));
    this.blockingCalls = deps.blockingCalls ?? "warn";
    this.watchdogScript = deps.watchdogScript;
  }

  /** Starts ticking and the watchdog; reports blocking calls once the hub runs, until it closes. */
  async start(): Promise<void> {
    if (this.timer !== undefined) return;
    const script = scriptOrOwn(this.watchdogScript, "./loop-watchdog.ts", import.meta.url, "loop watchdog");
    this.lastTick = Date.now();
    heartbeat[0] = this.lastTick;
    Atomics.store(jobSlot, SLOT_STOP, 0);
    Atomics.store(jobSlot, SLOT_BLOCKED, 0);
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
    const watchdog = new Worker(script);
    watchdog.unref();
    watchdog.postMessage({ buffer: JOB_SLOT_BUFFER, thresholdMs: this.thresholdMs, tickMs: this.tickMs });
    this.watchdog = watchdog;
    const bus = this.hub.bus;
    this.unlisten.push(
      bus.listen(
        "hub_started",
        callback(() => this.running()),
        { name: "loop monitor" },
      ),
      bus.listen(
        "hub_close",
        callback(() => void this.stop()),
        { name: "loop monitor" },
      ),
    );
    if (this.hub.state === "running") this.running();
  }

  /** The hub runs: holds from now on are news, and so are blocking calls. */
  private running(): void {
    this.runningSince = Date.now();
    this.reportBlockingCalls(true);
  }

  /** Stops the tick, the watchdog and blocking-call reports. Safe to call twice. */
  stop(): Promise<void> {
    this.stopped ??= this.runStop();
    return this.stopped;
  }

  stats(): LoopStats {
    return { ...this.figures };
  }

  /** For /metrics: the lag of every tick so far, and about how long the loop was held past the threshold, in seconds. */
  lagMetrics(): LoopLagMetrics {
    return { lag: this.lag.snapshot(), heldSeconds: this.heldSeconds };
  }

  private async runStop(): Promise<void> {
    this.reportBlockingCalls(false);
    for (const off of this.unlisten) off();
    this.unlisten = [];
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    const watchdog = this.watchdog;
    this.watchdog = undefined;
    if (watchdog === undefined) return;
    Atomics.store(jobSlot, SLOT_STOP, 1);
    Atomics.notify(jobSlot, SLOT_STOP);
    watchdog.terminate();
  }

  private tick(): void {
    const now = Date.now();
    const previous = this.lastTick;
    const lag = Math.max(0, now - previous - this.tickMs);
    this.lastTick = now;
    heartbeat[0] = now;
    const f = this.figures;
    f.lagMs = lag;
    this.lag.observe(lag / 1000);
    f.meanLagMs = f.meanLagMs * 0.9 + lag * 0.1;
    if (lag > f.maxLagMs) f.maxLagMs = lag;
    if (lag + this.tickMs < this.thresholdMs) return;
    f.blocked++;
    // The hold began somewhere within the tick interval: it lasted between lag and lag + tickMs.
    const held = lag + this.tickMs / 2;
    this.heldSeconds += held / 1000;
    // Start-up loads modules and opens every port at once; holds then are expected, not news, and so
    // is one that began before the hub was running and ended after.
    if (this.hub.state !== "running" || previous < this.runningSince) {
      Atomics.store(jobSlot, SLOT_BLOCKED, 0);
      return;
    }
    const seen = Atomics.exchange(jobSlot, SLOT_BLOCKED, 0);
    const job = seen > 0 ? jobNameOf(seen) : undefined;
    if (job !== undefined) {
      this.log.warn({ job, heldMs: Math.round(held), thresholdMs: this.thresholdMs }, `Job ${job} held the event loop for about ${Math.round(held)} ms`);
    } else {
      this.log.warn(
        { heldMs: Math.round(held), thresholdMs: this.thresholdMs },
        `The event loop was held for about ${Math.round(held)} ms by a step outside any named job (a task after an await, a timer or an I/O callback)`,
      );
    }
  }

  private reportBlockingCalls(on: boolean): void {
    if (!on || this.blockingCalls === "off") {
      setBlockingCallReporter(undefined);
      return;
    }
    const mode = this.blockingCalls;
    setBlockingCallReporter({
      mode,
      report: (call, stack, caller) => {
        this.figures.blockingCalls++;
        this.log.warn({ call, caller, stack }, `Detected blocking call to ${call} inside the event loop${caller ? ` at ${caller}` : ""}; move it to the executor (hub.addExecutorJob)`);
      },
    });
  }
}
