/**
 * The console's live updates over its WebSockets: a device's snapshot is pushed when its entities change
 * (gathered per tick, as the MQTT publisher gathers a device's JSON: one report that changes several
 * entities is one message) or its availability does; the overview's figures, which move all the time
 * (uptime, loop lag), and the devices' counters are pushed every few seconds while a page is open. The
 * browser never polls.
 */
import type { TimerHandle } from "../core/clock.ts";
import { callback } from "../core/job.ts";
import type { Logger } from "../core/logger.ts";
import "../engine/events.ts";
import { type ConsoleSources, type DeviceSnapshot, deviceOf, devicesOf, type OverviewSnapshot, overviewOf } from "./console-state.ts";

/** What the page's script is sent. */
export type FeedMessage =
  | { type: "overview"; overview: OverviewSnapshot }
  | { type: "devices"; devices: DeviceSnapshot[] }
  /** The set of devices changed (a reload): the page is rendered again. */
  | { type: "reload" };

/** The part of a WebSocket the feed uses (Bun's ServerWebSocket with the pipeline's data). */
export interface FeedSocket {
  readonly data: { readonly session: { readonly token: string } | undefined };
  send(text: string): unknown;
  close(code?: number, reason?: string): void;
}

export interface ConsoleFeedDeps {
  sources: ConsoleSources;
  log: Logger;
  /** How often the overview and the counters are pushed while a page is open, ms. */
  intervalMs?: number;
}

export class ConsoleFeed {
  private readonly deps: ConsoleFeedDeps;
  private readonly sockets = new Set<FeedSocket>();
  private readonly dirty = new Set<string>();
  private flushQueued = false;
  private readonly unlisten: Array<() => void> = [];
  private timer: TimerHandle | undefined;

  constructor(deps: ConsoleFeedDeps) {
    this.deps = deps;
  }

  /** Listens for the devices' changes. Safe twice. */
  start(): void {
    if (this.unlisten.length > 0) return;
    const { hub } = this.deps.sources;
    const { bus } = hub;
    this.unlisten.push(
      bus.listen(
        "state_changed",
        callback((event) => {
          const id = this.deps.sources.devices.deviceOfEntity(event.data.entityId);
          if (id !== undefined) this.markDirty(id);
        }),
        { name: "web console" },
      ),
      bus.listen(
        "device_availability",
        callback((event) => {
          this.markDirty(event.data.deviceId);
          this.broadcast({ type: "overview", overview: overviewOf(this.deps.sources) });
        }),
        { name: "web console" },
      ),
      bus.listen(
        "devices_changed",
        callback(() => this.broadcast({ type: "reload" })),
        { name: "web console" },
      ),
    );
  }

  /** Stops listening and closes the open sockets. Safe twice. */
  stop(): void {
    for (const off of this.unlisten.splice(0)) off();
    this.stopTimer();
    for (const socket of this.sockets) socket.close(1001, "hearth is stopping");
    this.sockets.clear();
  }

  /** A page's socket opened: it is sent everything now, then the changes. */
  open(socket: FeedSocket): void {
    this.sockets.add(socket);
    this.send(socket, { type: "overview", overview: overviewOf(this.deps.sources) });
    this.send(socket, { type: "devices", devices: devicesOf(this.deps.sources) });
    if (this.timer === undefined) this.schedule();
  }

  /** A session ended (signed out): its sockets close, so a page left open stops showing the devices. */
  endSession(token: string): void {
    for (const socket of this.sockets) {
      if (socket.data.session?.token !== token) continue;
      socket.close(1008, "signed out");
      this.closed(socket);
    }
  }

  closed(socket: FeedSocket): void {
    this.sockets.delete(socket);
    if (this.sockets.size === 0) this.stopTimer();
  }

  private markDirty(id: string): void {
    this.dirty.add(id);
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      const { devices, hub } = this.deps.sources;
      const changed = [...this.dirty].flatMap((deviceId) => {
        const view = devices.get(deviceId);
        return view === undefined ? [] : [deviceOf(view, devices, hub)];
      });
      this.dirty.clear();
      if (changed.length > 0) this.broadcast({ type: "devices", devices: changed });
    });
  }

  private schedule(): void {
    const { hub } = this.deps.sources;
    this.timer = hub.clock.setTimeout(() => {
      this.broadcast({ type: "overview", overview: overviewOf(this.deps.sources) });
      this.broadcast({ type: "devices", devices: devicesOf(this.deps.sources) });
      this.schedule();
    }, this.deps.intervalMs ?? 5000);
  }

  private stopTimer(): void {
    if (this.timer !== undefined) this.deps.sources.hub.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private broadcast(message: FeedMessage): void {
    if (this.sockets.size === 0) return;
    const text = JSON.stringify(message);
    for (const socket of this.sockets) this.sendText(socket, text);
  }

  private send(socket: FeedSocket, message: FeedMessage): void {
    this.sendText(socket, JSON.stringify(message));
  }

  private sendText(socket: FeedSocket, text: string): void {
    try {
      socket.send(text);
    } catch (err) {
      this.deps.log.debug({ err }, "A console socket could not be sent to");
      this.sockets.delete(socket);
    }
  }
}
