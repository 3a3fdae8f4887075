import type { Config } from "./config/schema.ts";
import { createLogger, type Logger } from "./core/logger.ts";
import { Hub } from "./core/hub.ts";
import { callback } from "./core/job.ts";
import { LoopMonitor } from "./core/loop-monitor.ts";
import { installSignalHandlers } from "./core/signals.ts";
import { VERSION } from "./version.ts";

/** A running hearth: its hub, and how to stop it. */
export interface Service {
  hub: Hub;
  log: Logger;
  monitor: LoopMonitor;
  /** Removes the signal handlers (tests that run the service in-process). */
  uninstall: () => void;
}

/** Builds the hub from a configuration, wires shutdown to SIGTERM/SIGINT and starts it. */
export async function startService(config: Config, options: { log?: Logger; exit?: (code: number) => void } = {}): Promise<Service> {
  const log = options.log ?? createLogger({ level: config.log_level, base: { node: config.node_id } });
  const hub = new Hub({
    log,
    startTimeout: config.start_timeout,
    stageTimeouts: {
      shutdownJobs: config.shutdown.shutdown_jobs,
      cancel: config.shutdown.cancel,
      tracked: config.shutdown.tracked,
      finalWrite: config.shutdown.final_write,
      close: config.shutdown.close,
    },
  });
  const monitor = new LoopMonitor({
    hub,
    slowThresholdMs: config.loop_monitor.slow_threshold_ms,
    blockingCalls: config.loop_monitor.blocking_calls,
  });
  await monitor.start();
  const uninstall = installSignalHandlers(hub, options.exit);
  // A service runs until it is told to stop, even with nothing scheduled: hold the loop open until close.
  const keepAlive = setInterval(() => {}, 1 << 30);
  hub.bus.listenOnce("hub_close", callback(() => clearInterval(keepAlive)), { name: "service keep-alive" });
  log.info({ version: VERSION, bun: Bun.version, pid: process.pid }, `hearth ${VERSION} starting on node ${config.node_id}`);
  await hub.start();
  log.info("hearth is running; stop it with Ctrl-C or SIGTERM");
  return { hub, log, monitor, uninstall };
}
