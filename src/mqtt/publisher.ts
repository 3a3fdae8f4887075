import { clip } from "../core/clip.ts";
import type { Logger } from "../core/logger.ts";
import type { DeviceViews } from "../engine/device-view.ts";
import type { Outbox, OutboxMessage } from "../storage/outbox.ts";
import type { StateStore } from "../storage/state-store.ts";
import { bridgeDevices, bridgeInfo, type InfoSources } from "./bridge-payloads.ts";
import type { MqttConnection } from "./client.ts";
import { isMqttError } from "./errors.ts";
import { publishPacketSize } from "./packet-size.ts";
import type { Topics } from "./topics.ts";

/** Deliveries of one message that may be lost (the connection dropped while it was in flight, or the broker refused it) before it is set aside. */
export const MAX_ATTEMPTS = 3;

/** No queued message larger than this (bytes, as a packet) is sent, whatever the broker takes: hearth's events and replies are far smaller. */
export const MAX_MESSAGE_BYTES = 256 * 1024;

/** What became of one message handed to the broker. */
type Delivery = "delivered" | "set aside" | "again" | "stop";

export interface PublisherDeps {
  log: Logger;
  topics: Topics;
  devices: DeviceViews;
  outbox: Outbox;
  states?: StateStore;
  /** The bridge's connection: everything goes out on it, while it is connected. */
  connection: MqttConnection;
  /** What bridge/info reports. */
  info: InfoSources;
}

/**
 * What the bridge publishes on its connection: each device's retained state (once per tick for all the
 * entities a report changed), availability, bridge info and devices, and the non-retained messages
 * through the outbox, delivered oldest first while connected. The bridge makes it once it has made the
 * connection, and decides when what goes out (after a connect, a reload).
 */
export class Publisher {
  private readonly deps: PublisherDeps;
  private readonly dirty = new Set<string>();
  /** Devices that have reported in this run (their restored state is no longer shown). */
  private readonly reported = new Set<string>();
  /** The last bridge/devices payload published, so the periodic refresh of the counters sends only a change. */
  private lastDevices: string | undefined;
  private flushQueued = false;
  private draining = false;

  constructor(deps: PublisherDeps) {
    this.deps = deps;
  }

  /** Puts a non-retained message in the outbox and delivers what the outbox holds, oldest first. */
  enqueue(topic: string, payload: unknown): void {
    this.deps.outbox.push(topic, payload, 1);
    void this.drain();
  }

  /**
   * Delivers the outbox, oldest first, one message in flight at a time, while connected. A message whose
   * delivery is lost (the connection dropped before its ack, or the broker refused it) counts an attempt;
   * after MAX_ATTEMPTS, or at once when it is larger than the broker takes, it is set aside so that it
   * can never hold up the ones behind it.
   */
  async drain(): Promise<void> {
    const { outbox, connection } = this.deps;
    if (this.draining) return;
    this.draining = true;
    try {
      let outcome: Delivery = "delivered";
      while (outcome !== "stop" && connection.connected && outbox.size > 0) {
        let delivered = 0;
        for (const message of outbox.peek(100)) {
          outcome = await this.deliver(connection, message);
          if (outcome === "delivered") delivered++;
          if (outcome === "stop" || outcome === "again") break;
        }
        // A backlog's removals are committed as each batch of it is through (a lone message's within
        // the outbox's 100 ms), so a kill just after a backlog went out sends little of it again.
        if (delivered > 1) outbox.flush();
      }
    } catch (err) {
      this.deps.log.warn({ err }, "Outbox delivery stopped; it goes on with the next message queued or the next connect");
    } finally {
      this.draining = false;
    }
  }

  /** Sends one message; says whether to go on with the next, to peek again (it was refused) or to stop (the connection is gone). */
  private async deliver(connection: MqttConnection, message: OutboxMessage): Promise<Delivery> {
    const { outbox } = this.deps;
    if (!connection.connected) return "stop";
    const size = publishPacketSize({ topic: message.topic, payload: message.payload, qos: message.qos, protocolVersion: 4 });
    if (size > MAX_MESSAGE_BYTES) {
      this.setAside(message, `larger than hearth sends (${size} bytes, at most ${MAX_MESSAGE_BYTES})`);
      return "set aside";
    }
    try {
      await connection.publish(message.topic, message.payload, { qos: message.qos, messageId: message.messageId });
      outbox.remove(message.id);
      return "delivered";
    } catch (err) {
      if (isMqttError(err, "MQTT_NOT_CONNECTED")) return "stop"; // never sent: no attempt
      if (isMqttError(err, "MQTT_PACKET_TOO_LARGE")) {
        this.setAside(message, err.message);
        return "set aside";
      }
      const attempts = outbox.failed(message.id);
      if (attempts >= MAX_ATTEMPTS) this.setAside(message, `${attempts} deliveries failed, the last: ${(err as Error).message}`, attempts);
      else this.deps.log.debug({ err, topic: message.topic, attempts }, "Delivery of an outbox message failed; it is sent again");
      return isMqttError(err, "MQTT_ACK_LOST") ? "stop" : "again"; // lost: the next connect goes on
    }
  }

  /** Takes a message out of the queue for good, says so once (its topic and size, not its content) and updates bridge/info. */
  private setAside(message: OutboxMessage, reason: string, attempts = message.attempts): void {
    const { outbox, log } = this.deps;
    outbox.setAside(message.id, reason);
    const bytes = Buffer.byteLength(message.payload);
    const { set_aside } = outbox.counts();
    log.warn(
      { topic: message.topic, bytes, messageId: message.messageId, attempts, reason: clip(reason, 200) },
      `Outbox message to ${message.topic} (${bytes} bytes) set aside: ${clip(reason, 200)}; ${set_aside} kept aside`,
    );
    void this.publishInfo();
  }

  /** Publishes a device's state within this tick, once however many of its entities changed. */
  markDirty(deviceId: string): void {
    this.dirty.add(deviceId);
    if (this.flushQueued) return;
    this.flushQueued = true;
    // One report changes several entities at once: publish the device's JSON once for all of them.
    queueMicrotask(() => {
      this.flushQueued = false;
      const ids = [...this.dirty];
      this.dirty.clear();
      for (const id of ids) void this.publishDevice(id);
    });
  }

  /** Publishes `<base>/<device>` (retained JSON of its entity states). */
  async publishDevice(id: string): Promise<void> {
    const { devices, topics } = this.deps;
    const device = devices.get(id);
    if (device === undefined) return;
    const store = this.deps.states;
    if (!device.running || !device.available) {
      // Its retained state stays as last reported (availability says it is offline); before any report in
      // this run, what it said before the restart, marked as such, beats a row of nulls.
      if (this.reported.has(id)) return;
      const restored = store?.restored(id);
      if (restored !== undefined) {
        await this.publishRetained(topics.device(id), JSON.stringify({ ...restored, restored: true }), 0);
        return;
      }
      if (!device.running) return;
    } else this.reported.add(id);
    const state = devices.values(id) ?? {};
    if (device.available) store?.record(id, state);
    await this.publishRetained(topics.device(id), JSON.stringify(state), 0);
  }

  /** Publishes `<base>/<device>/availability`: online or offline. */
  async publishAvailability(id: string, available: boolean): Promise<void> {
    await this.publishRetained(this.deps.topics.availability(id), available ? "online" : "offline", 1);
  }

  /** Publishes `<base>/bridge/info`. */
  async publishInfo(): Promise<void> {
    await this.publishRetained(this.deps.topics.bridgeInfo, JSON.stringify(bridgeInfo(this.deps.info)), 1);
  }

  /** Publishes `<base>/bridge/devices`. */
  async publishDevices(options: { ifChanged?: boolean } = {}): Promise<void> {
    const payload = JSON.stringify(bridgeDevices(this.deps.devices));
    if (options.ifChanged && payload === this.lastDevices) return; // the periodic refresh of the counters: nothing new
    this.lastDevices = payload;
    await this.publishRetained(this.deps.topics.bridgeDevices, payload, 1);
  }

  /** Clears the retained state and availability of devices a reload removed, and forgets their restored state. */
  async clearDevices(removed: string[]): Promise<void> {
    const { topics } = this.deps;
    for (const id of removed) {
      this.reported.delete(id);
      this.deps.states?.forget(id);
      await this.publishRetained(topics.device(id), "", 1); // an empty retained payload clears it
      await this.publishRetained(topics.availability(id), "", 1);
    }
  }

  /** Each device's availability, then its state. */
  async publishDeviceTopics(): Promise<void> {
    for (const device of this.deps.devices.list()) {
      await this.publishAvailability(device.id, device.available);
      await this.publishDevice(device.id);
    }
  }

  /** Retained topics are never queued: their latest value goes out on the next connect. */
  async publishRetained(topic: string, payload: string, qos: 0 | 1): Promise<boolean> {
    const { connection } = this.deps;
    if (!connection.connected) return false;
    try {
      await connection.publish(topic, payload, { retain: true, qos });
      return true;
    } catch (err) {
      if (!isMqttError(err, "MQTT_NOT_CONNECTED") && !isMqttError(err, "MQTT_ACK_LOST")) this.deps.log.debug({ err, topic }, "Publish failed; it is republished on the next connect");
      return false;
    }
  }
}
