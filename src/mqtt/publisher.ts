import type { Hub } from "../core/hub.ts";
import type { Logger } from "../core/logger.ts";
import type { DeviceManager } from "../engine/manager.ts";
import type { StateStore } from "../storage/state-store.ts";
import { bridgeDevices, bridgeInfo, type InfoSources } from "./bridge-payloads.ts";
import type { MqttConnection } from "./client.ts";
import { deviceState } from "./device-state.ts";
import type { Discovery } from "./discovery.ts";
import { isMqttError } from "./errors.ts";
import type { Outbox } from "./outbox.ts";
import type { Topics } from "./topics.ts";

export interface PublisherDeps {
  hub: Hub;
  log: Logger;
  nodeId: string;
  topics: Topics;
  devices: DeviceManager;
  outbox: Outbox;
  states?: StateStore;
  /** The connection and discovery, once the bridge has made them. */
  connection: () => MqttConnection | undefined;
  discovery: () => Discovery | undefined;
  infoSources: () => InfoSources;
}

/**
 * What the bridge publishes: each device's retained state (once per tick for all the entities a report
 * changed), availability, bridge info and devices, every retained topic again after a connect, and the
 * non-retained messages through the outbox, delivered oldest first while connected.
 */
export class Publisher {
  private readonly deps: PublisherDeps;
  private readonly dirty = new Set<string>();
  /** Devices that have reported in this run (their restored state is no longer shown). */
  private readonly reported = new Set<string>();
  private flushQueued = false;
  private draining = false;

  constructor(deps: PublisherDeps) {
    this.deps = deps;
  }

  /** Puts a non-retained message in the outbox and delivers what the outbox holds, oldest first. */
  enqueue(topic: string, payload: unknown): void {
    this.deps.outbox.push(topic, typeof payload === "string" ? payload : JSON.stringify(payload), 1);
    void this.drain();
  }

  async drain(): Promise<void> {
    const connection = this.deps.connection();
    const { outbox } = this.deps;
    if (this.draining || connection === undefined) return;
    this.draining = true;
    try {
      while (connection.connected && outbox.size > 0) {
        for (const message of outbox.peek(100)) {
          await connection.publish(message.topic, message.payload, { qos: message.qos });
          outbox.remove(message.id);
        }
      }
    } catch (err) {
      if (!isMqttError(err, "MQTT_NOT_CONNECTED")) this.deps.log.debug({ err }, "Outbox delivery stopped; it goes on after the next connect");
    } finally {
      this.draining = false;
    }
  }

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
    if (!devices.entries.has(id)) return;
    const device = devices.device(id);
    const store = this.deps.states;
    if (device === undefined || !device.available) {
      // Its retained state stays as last reported (availability says it is offline); before any report in
      // this run, what it said before the restart, marked as such, beats a row of nulls.
      if (this.reported.has(id)) return;
      const restored = store?.restored(id);
      if (restored !== undefined) {
        await this.publishRetained(topics.device(id), JSON.stringify({ ...restored, restored: true }), 0);
        return;
      }
      if (device === undefined) return;
    } else this.reported.add(id);
    const state = deviceState(device, this.deps.hub.states);
    if (device.available) store?.record(id, state);
    await this.publishRetained(topics.device(id), JSON.stringify(state), 0);
  }

  async publishAvailability(id: string, available: boolean): Promise<void> {
    await this.publishRetained(this.deps.topics.availability(id), available ? "online" : "offline", 1);
  }

  async publishInfo(): Promise<void> {
    await this.publishRetained(this.deps.topics.bridgeInfo, JSON.stringify(bridgeInfo(this.deps.infoSources())), 1);
  }

  async publishDevices(): Promise<void> {
    await this.publishRetained(this.deps.topics.bridgeDevices, JSON.stringify(bridgeDevices(this.deps.devices, this.deps.nodeId)), 1);
  }

  async onDevicesChanged(removed: string[]): Promise<void> {
    const { topics } = this.deps;
    for (const id of removed) {
      this.reported.delete(id);
      this.deps.states?.forget(id);
      await this.publishRetained(topics.device(id), "", 1); // an empty retained payload clears it
      await this.publishRetained(topics.availability(id), "", 1);
    }
    await this.publishDevices();
    await this.deps.discovery()?.publishAll();
    await this.publishDeviceTopics();
    await this.publishInfo();
  }

  /**
   * Every retained topic, as after each connect: bridge info and devices, discovery, then each device's
   * availability and state; then whatever waited in the outbox.
   */
  async republishAll(): Promise<void> {
    await this.publishInfo();
    await this.publishDevices();
    await this.deps.discovery()?.publishAll();
    await this.publishDeviceTopics();
    await this.drain();
  }

  /** Each device's availability, then its state. */
  private async publishDeviceTopics(): Promise<void> {
    const { devices } = this.deps;
    for (const id of devices.entries.keys()) {
      await this.publishAvailability(id, devices.device(id)?.available ?? false);
      await this.publishDevice(id);
    }
  }

  /** Retained topics are never queued: their latest value goes out on the next connect. */
  async publishRetained(topic: string, payload: string, qos: 0 | 1): Promise<boolean> {
    const connection = this.deps.connection();
    if (connection === undefined || !connection.connected) return false;
    try {
      await connection.publish(topic, payload, { retain: true, qos });
      return true;
    } catch (err) {
      if (!isMqttError(err, "MQTT_NOT_CONNECTED")) this.deps.log.debug({ err, topic }, "Publish failed; it is republished on the next connect");
      return false;
    }
  }
}
