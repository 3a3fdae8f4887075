/**
 * sd_notify for hearth under systemd's `Type=notify`: READY=1 once the service runs, STOPPING=1 when
 * shutdown begins, and WATCHDOG=1 at half of `$WATCHDOG_USEC`. The pings are timers on the event loop,
 * so a loop stuck in one job stops them and systemd restarts hearth. Without `$NOTIFY_SOCKET` nothing
 * is sent and nothing is logged. A failed send never throws into the loop: it is logged once.
 */
import { type Clock, systemClock, type TimerHandle } from "./clock.ts";
import type { Hub } from "./hub.ts";
import { callback } from "./job.ts";
import type { Logger } from "./logger.ts";
import { type NotifyTransport, openNotifySocket } from "./notify-socket.ts";

export interface SystemdNotifierDeps {
  hub: Hub;
  log: Logger;
  /** Where NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID are read (process.env by default). */
  env?: Record<string, string | undefined>;
  clock?: Clock;
  /** This process's id, compared with WATCHDOG_PID. */
  pid?: number;
  /** Opens the socket named by NOTIFY_SOCKET (the real AF_UNIX datagram socket by default). */
  open?: (address: string) => NotifyTransport;
}

/** Tells systemd how hearth is: ready, stopping, alive. A no-op outside `Type=notify`. */
export class SystemdNotifier {
  private readonly deps: SystemdNotifierDeps;
  private transport: NotifyTransport | undefined;
  private timer: TimerHandle | undefined;
  private removeListener: (() => void) | undefined;
  private failed = false;

  constructor(deps: SystemdNotifierDeps) {
    this.deps = deps;
  }

  /** The watchdog ping period in ms (half of WATCHDOG_USEC), or undefined when systemd set no watchdog for this process. */
  get watchdogIntervalMs(): number | undefined {
    const env = this.deps.env ?? process.env;
    const usec = Number(env.WATCHDOG_USEC);
    if (!Number.isSafeInteger(usec) || usec <= 0) return undefined;
    const pid = env.WATCHDOG_PID;
    if (pid !== undefined && pid !== "" && Number(pid) !== (this.deps.pid ?? process.pid)) return undefined;
    return Math.max(1, Math.floor(usec / 2000));
  }

  /** Sends READY=1 and starts the watchdog pings; call it once the service is running. */
  async start(): Promise<void> {
    const { hub, log } = this.deps;
    const address = (this.deps.env ?? process.env).NOTIFY_SOCKET;
    if (address === undefined || address === "" || this.transport !== undefined) return;
    try {
      this.transport = (this.deps.open ?? openNotifySocket)(address);
    } catch (err) {
      log.warn({ err }, `Cannot tell systemd hearth is ready (NOTIFY_SOCKET=${address}): ${(err as Error).message}`);
      return;
    }
    this.removeListener = hub.bus.listenOnce(
      "hub_stop",
      callback(() => this.stopping()),
      { name: "systemd STOPPING=1" },
    );
    const interval = this.watchdogIntervalMs;
    this.send("READY=1\nSTATUS=Running");
    log.info({ notifySocket: address, watchdogMs: interval }, `Told systemd hearth is ready${interval === undefined ? "" : `; watchdog ping every ${interval} ms`}`);
    if (interval !== undefined) this.schedulePing(interval);
  }

  /** Sets the status line `systemctl status` shows. */
  status(text: string): void {
    this.send(`STATUS=${text.replace(/\n/g, " ")}`);
  }

  /** Stops the pings and closes the socket; safe to call twice. */
  async stop(): Promise<void> {
    this.stopPings();
    this.removeListener?.();
    this.removeListener = undefined;
    this.transport?.close();
    this.transport = undefined;
  }

  private stopping(): void {
    this.stopPings();
    this.send("STOPPING=1\nSTATUS=Shutting down");
  }

  private schedulePing(interval: number): void {
    const clock = this.deps.clock ?? systemClock;
    this.timer = clock.setTimeout(() => {
      this.timer = undefined;
      this.send("WATCHDOG=1");
      if (this.transport !== undefined) this.schedulePing(interval);
    }, interval);
  }

  private stopPings(): void {
    if (this.timer !== undefined) (this.deps.clock ?? systemClock).clearTimeout(this.timer);
    this.timer = undefined;
  }

  private send(message: string): void {
    try {
      this.transport?.send(message);
    } catch (err) {
      if (this.failed) return;
      this.failed = true;
      this.deps.log.warn({ err }, `Cannot notify systemd (${message.split("\n")[0]}); further failures are not logged: ${(err as Error).message}`);
    }
  }
}
