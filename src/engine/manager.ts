import { serialSettingsOf } from "../config/device-definition.ts";
import type { DeviceConfig } from "../config/schema.ts";
import { type BackoffOptions, backoffDelay } from "../core/backoff.ts";
import { gatherWithLimitedConcurrency } from "../core/gather.ts";
import type { Hub } from "../core/hub.ts";
import type { Logger } from "../core/logger.ts";
import { Lock } from "../core/semaphore.ts";
import { sleep } from "../core/wait.ts";
import type { Entity } from "../entities/entity.ts";
import { changedModels, type ModelCatalogue } from "./catalogue.ts";
import { ConfigEntry } from "./config-entry.ts";
import { Device } from "./device.ts";
import { DeviceError } from "./device-error.ts";
import { type DeviceViews, deviceViews, type RestartResult } from "./device-view.ts";
import type { DriverFactory } from "./driver.ts";
import { IntelHexError, parseIntelHex } from "./firmware/intel-hex.ts";
import { type FirmwareUpdateRecord, type FirmwareUpdateResult, FirmwareUpdater } from "./firmware/update.ts";
import { DRIVERS, effectiveDefinition, framingOf, ownTransportOf } from "./protocols.ts";
import type { Transport, TransportFactory } from "./transport.ts";

/** Gives a device its port: a tty path as configured, or for `sim` a pseudo-terminal with the model's simulator on it. */
export interface PortProvider {
  acquire(entry: ConfigEntry): Promise<{ path: string; release: () => Promise<void> }>;
}

export interface DeviceManagerDeps {
  hub: Hub;
  log: Logger;
  nodeId: string;
  /** The models it can set devices up as at first (the composition root's, src/catalogue.ts); a reload may hand it others. */
  catalogue: ModelCatalogue;
  transports: TransportFactory;
  ports: PortProvider;
  drivers?: Record<string, DriverFactory>;
  /** Where the firmware last written to each device is kept (for rolling back); without it, firmware updates are refused. */
  firmwareDir?: string;
  /** The avrdude firmware updates run (default: the one on the PATH). */
  avrdude?: string;
}

interface SharedTransport {
  transport: Transport;
  users: Set<string>;
  release: Array<() => Promise<void>>;
}

/** What a reload of the device list did; `modelsChanged`: the models whose definition changed (their devices are among `reloaded`). */
export interface ReloadOutcome {
  added: string[];
  removed: string[];
  reloaded: string[];
  unchanged: string[];
  modelsChanged: string[];
}

/** Set-up retries back off from 5 s to this many seconds. */
export const MAX_SETUP_BACKOFF = 300;

// ±20% jitter, capped: devices that failed together (a hub unplugged) do not all retry in the same second.
const SETUP_BACKOFF: BackoffOptions = { initialMs: 5000, maxMs: MAX_SETUP_BACKOFF * 1000 };

/**
 * The configured devices as config entries (HA's ConfigEntries): sets each up concurrently, retries
 * the ones that fail without holding up the others, reloads only what changed, and unloads in reverse.
 * Devices on one port share one transport.
 */
export class DeviceManager {
  readonly entries = new Map<string, ConfigEntry>();
  /** Every entity of every loaded device, by entity id (the platforms register them). */
  readonly entities = new Map<string, Entity>();
  private readonly deps: DeviceManagerDeps;
  /** The models in force: the devices' entries are made from these. */
  private catalogueInForce: ModelCatalogue;
  private readonly transports = new Map<string, SharedTransport>();
  private readonly linksInMaking = new Map<string, Promise<Transport>>();
  private readonly retries = new Map<string, { cancel: () => void }>();
  /** One per device: its set-up, restart, reload and unload never overlap (two transports on one port would). */
  private readonly locks = new Map<string, Lock>();
  /** A restart of a device asked for while another runs: the requests that come meanwhile share it. */
  private readonly nextRestart = new Map<string, Promise<RestartResult>>();
  /** Reloads of the device list, one at a time. */
  private readonly reloading = new Lock();
  /** Devices whose firmware is being updated now. */
  private readonly updating = new Set<string>();
  /** How each device's last firmware update ended. */
  readonly firmwareUpdates = new Map<string, FirmwareUpdateRecord>();
  /** Aborted when the manager stops: a firmware update under way stops its avrdude. */
  private readonly stopping = new AbortController();

  constructor(deps: DeviceManagerDeps) {
    this.deps = deps;
    this.catalogueInForce = deps.catalogue;
  }

  /** The models in force (the last reload's, else the first). */
  get catalogue(): ModelCatalogue {
    return this.catalogueInForce;
  }

  /** The devices as readers (the MQTT side) see them: snapshots of each, and the commands they may give. */
  view(): DeviceViews {
    return deviceViews({
      nodeId: this.deps.nodeId,
      entries: this.entries,
      entities: this.entities,
      restart: (id) => this.restart(id),
      updateFirmware: (id, hex, options) => this.updateFirmware(id, hex, options),
      firmwareUpdates: this.firmwareUpdates,
    });
  }

  /** The running device of an id. */
  device(id: string): Device | undefined {
    return this.entries.get(id)?.runtime?.device;
  }

  /** Every loaded device. */
  devices(): Device[] {
    return [...this.entries.values()].flatMap((e) => (e.runtime ? [e.runtime.device] : []));
  }

  /** Sets up every device (as models of `catalogue`, when given); each runs as a tracked task, so hub.start() waits for them (up to its timeout). */
  async setup(configs: readonly DeviceConfig[], catalogue: ModelCatalogue = this.catalogueInForce): Promise<void> {
    this.catalogueInForce = catalogue;
    const tasks = configs.map((config) => {
      const entry = this.addEntry(config);
      return this.deps.hub.createTask(() => this.exclusive(entry.id, () => this.setupEntry(entry)), { name: `setup ${entry.id}` });
    });
    await Promise.allSettled(tasks.map((t) => t.settled()));
    this.deps.hub.bus.fire("devices_changed", { added: configs.map((c) => c.id), removed: [], reloaded: [] });
  }

  /**
   * Applies a new device list, and with `catalogue` new models (model files read again): unloads removed
   * devices, reloads those whose settings or model definition changed, sets up new ones; the rest keep
   * running. It holds every device's lock meanwhile, so no restart runs into it half-way.
   */
  async reload(configs: readonly DeviceConfig[], catalogue: ModelCatalogue = this.catalogueInForce): Promise<ReloadOutcome> {
    const release = await this.reloading.acquire();
    try {
      const ids = [...new Set([...this.entries.keys(), ...configs.map((c) => c.id)])].sort();
      const releases: Array<() => void> = [];
      try {
        for (const id of ids) releases.push(await this.lockOf(id).acquire()); // in one order, so two holders never wait on each other
        return await this.applyReload(configs, catalogue);
      } finally {
        for (const r of releases.reverse()) r();
      }
    } finally {
      release();
    }
  }

  private async applyReload(configs: readonly DeviceConfig[], catalogue: ModelCatalogue): Promise<ReloadOutcome> {
    const modelsChanged = catalogue === this.catalogueInForce ? [] : changedModels(this.catalogueInForce, catalogue);
    this.catalogueInForce = catalogue;
    const next = new Map(configs.map((c) => [c.id, c]));
    const removed = [...this.entries.keys()].filter((id) => !next.has(id));
    const reloaded = [...next.values()].filter((c) => this.entries.get(c.id)?.differsFrom(c) || (this.entries.has(c.id) && modelsChanged.includes(c.model))).map((c) => c.id);
    const added = [...next.keys()].filter((id) => !this.entries.has(id));
    const unchanged = [...next.keys()].filter((id) => this.entries.has(id) && !reloaded.includes(id));
    for (const id of [...removed, ...reloaded].reverse()) await this.removeEntry(id);
    await Promise.allSettled(
      [...reloaded, ...added].map((id) => {
        const entry = this.addEntry(next.get(id)!);
        return this.setupEntry(entry);
      }),
    );
    this.deps.log.info({ added, removed, reloaded, unchanged: unchanged.length, ...(modelsChanged.length > 0 ? { modelsChanged } : {}) }, "Devices reloaded");
    this.deps.hub.bus.fire("devices_changed", { added, removed, reloaded });
    return { added, removed, reloaded, unchanged, modelsChanged };
  }

  /**
   * Unloads one device and sets it up again (`device/restart`: reopens its transport). Restarts of one device
   * run one after another; those asked for while one runs share the next, which starts after all of them
   * were asked. Resolves with the state it ended in, `loaded`; rejects with DEVICE_SETUP_FAILED (saying
   * the state, `setup_retry`, and why) when the set-up failed.
   */
  restart(id: string): Promise<RestartResult> {
    if (!this.entries.has(id)) return Promise.reject(new DeviceError("DEVICE_UNKNOWN", id, "no such device"));
    const waiting = this.nextRestart.get(id);
    if (waiting !== undefined) return waiting;
    const lock = this.lockOf(id);
    const run = (async () => {
      const release = await lock.acquire();
      // From here on a new request needs a restart of its own: this one may already have closed the transport.
      this.nextRestart.delete(id);
      try {
        return await this.restartEntry(id);
      } finally {
        release();
      }
    })();
    this.nextRestart.set(id, run);
    return run;
  }

  private async restartEntry(id: string): Promise<RestartResult> {
    const entry = this.entries.get(id);
    if (entry === undefined) throw new DeviceError("DEVICE_UNKNOWN", id, "no such device (it was removed meanwhile)");
    this.cancelRetry(id);
    await this.unloadEntry(entry);
    const fresh = this.addEntry(entry.config);
    if (await this.setupEntry(fresh)) return { id, state: fresh.state };
    throw new DeviceError("DEVICE_SETUP_FAILED", id, `restarted, but its set-up failed (state ${fresh.state}): ${fresh.reason ?? "no reason given"}`);
  }

  /**
   * Writes a new firmware image (Intel HEX text) to one device through its bootloader, as its model's
   * `firmware:` says (engine/firmware/update.ts): refused with DEVICE_FIRMWARE_REFUSED, before anything is
   * touched, when the model has no update, the device is simulated or shares its port with others (the
   * update would cut them off the bus), the image is damaged or too big, or an update of it runs already.
   * The other devices go on meanwhile; the result says each step and how it ended.
   */
  async updateFirmware(id: string, hex: string, options: { expectVersion?: string } = {}): Promise<FirmwareUpdateResult> {
    const entry = this.entries.get(id);
    if (entry === undefined) throw new DeviceError("DEVICE_UNKNOWN", id, "no such device");
    const refuse = (why: string) => new DeviceError("DEVICE_FIRMWARE_REFUSED", id, `firmware update refused, nothing was touched: ${why}`);
    const spec = entry.definition.firmware;
    if (spec === undefined) throw refuse(`its model ${entry.definition.model} says of no way to update its firmware (no firmware: in its model file)`);
    if (entry.config.port === "sim") throw refuse("it is simulated (port: sim): there is no firmware to write");
    const sharing = [...this.entries.values()].filter((e) => e.id !== id && e.config.port === entry.config.port).map((e) => e.id);
    if (sharing.length > 0) throw refuse(`its port ${entry.config.port} is shared with ${sharing.join(", ")}, which the update would cut off: take them out of the configuration first`);
    if (this.deps.firmwareDir === undefined) throw refuse("this hearth keeps no data folder, so it could not keep the previous image to roll back to");
    const avrdude = this.deps.avrdude ?? "avrdude";
    if (Bun.which(avrdude) === null) throw refuse(`${avrdude} is not installed (on Debian: apt-get install avrdude)`);
    if (this.updating.has(id)) throw refuse("an update of its firmware is under way already");
    let image;
    try {
      image = parseIntelHex(hex, spec.max_size);
    } catch (err) {
      if (err instanceof IntelHexError) throw refuse(`the image is not a valid Intel HEX file for this device: ${err.message}`);
      throw err;
    }
    this.updating.add(id);
    try {
      return await this.exclusive(id, async () => {
        const current = this.entries.get(id);
        if (current === undefined) throw new DeviceError("DEVICE_UNKNOWN", id, "no such device (it was removed meanwhile)");
        const updater = new FirmwareUpdater({ log: this.deps.log, dir: this.deps.firmwareDir!, avrdude: this.deps.avrdude });
        let entryNow = current;
        const result = await updater.update(
          {
            id,
            port: current.config.port,
            spec,
            baud: spec.baud ?? serialSettingsOf(current.definition, current.config).baud,
            versionBefore: current.runtime?.device.swVersion,
            stop: async () => {
              this.cancelRetry(id);
              await this.unloadEntry(entryNow);
            },
            start: async (timeoutS) => {
              // Listening before the link opens: a board says hello as soon as opening the port resets it.
              const waited = AbortSignal.any([AbortSignal.timeout(Math.max(timeoutS, 0.001) * 1000), this.stopping.signal]);
              const hello = this.deps.hub.bus.waitFor("device_rebooted", (d) => d.deviceId === id && d.swVersion !== undefined, waited);
              hello.catch(() => {});
              entryNow = this.addEntry(current.config);
              await this.setupEntry(entryNow);
              if (timeoutS === 0) return undefined;
              return hello.then((e) => e.data.swVersion).catch(() => undefined);
            },
          },
          image,
          { expectVersion: options.expectVersion, signal: this.stopping.signal },
        );
        this.firmwareUpdates.set(id, {
          status: result.status,
          at: new Date().toISOString(),
          version_before: result.version_before,
          version_after: result.version_after,
          ...(result.error === undefined ? {} : { error: result.error }),
        });
        this.deps.hub.bus.fire("device_firmware_updated", { deviceId: id, status: result.status, ...(result.version_after === null ? {} : { swVersion: result.version_after }) });
        return result;
      });
    } finally {
      this.updating.delete(id);
    }
  }

  /** Unloads everything, the last set up first. */
  async stop(): Promise<void> {
    this.stopping.abort(new DeviceError("DEVICE_UNAVAILABLE", "hearth", "hearth is stopping"));
    for (const id of [...this.entries.keys()].reverse()) {
      try {
        await this.exclusive(id, () => this.removeEntry(id));
      } catch (err) {
        this.deps.log.error({ err, device: id }, `Unloading ${id} failed`);
      }
    }
  }

  /** Runs `fn` holding the device's lock. */
  private async exclusive<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.lockOf(id).run(fn);
  }

  private lockOf(id: string): Lock {
    let lock = this.locks.get(id);
    if (lock === undefined) this.locks.set(id, (lock = new Lock()));
    return lock;
  }

  private cancelRetry(id: string): void {
    this.retries.get(id)?.cancel();
    this.retries.delete(id);
  }

  private addEntry(config: DeviceConfig): ConfigEntry {
    const model = this.catalogueInForce.get(config.model);
    if (model === undefined) throw new DeviceError("DEVICE_SETUP_FAILED", config.id, `unknown model ${config.model}`);
    const entry = new ConfigEntry(config, effectiveDefinition(model.definition, config), model, this.deps.hub.clock.now());
    this.entries.set(entry.id, entry);
    return entry;
  }

  private async removeEntry(id: string): Promise<void> {
    this.cancelRetry(id);
    const entry = this.entries.get(id);
    if (entry === undefined) return;
    await this.unloadEntry(entry);
    this.entries.delete(id);
  }

  /** Sets one entry up (HA's async_setup_entry): opens its transport, starts its device, forwards its platforms. */
  async setupEntry(entry: ConfigEntry): Promise<boolean> {
    const { hub } = this.deps;
    const log = this.deps.log.child({ device: entry.id });
    entry.state = "setup_in_progress";
    entry.attempts++;
    let port: string | undefined;
    try {
      const transport = await this.transportFor(entry);
      port = transport.path;
      if (transport.state !== "open") await transport.open();
      const factory = (this.deps.drivers ?? DRIVERS)[entry.definition.protocol];
      if (factory === undefined) throw new DeviceError("DEVICE_SETUP_FAILED", entry.id, `no driver for protocol ${entry.definition.protocol}`);
      const device = new Device({ hub, log, nodeId: this.deps.nodeId, config: entry.config, definition: entry.definition, transport, driverFactory: factory });
      entry.runtime = { device, port };
      await this.forwardEntrySetups(entry, entry.platforms);
      await device.start();
      entry.state = "loaded";
      entry.attempts = 0;
      entry.reason = undefined;
      log.info({ model: entry.config.model, port: entry.config.port === "sim" ? `sim (${port})` : port }, `Set up ${entry.id}`);
      return true;
    } catch (err) {
      entry.reason = (err as Error).message;
      await this.unloadEntry(entry).catch(() => {});
      if (this.deps.hub.isStopping) return false;
      entry.state = "setup_retry";
      const delayMs = backoffDelay(entry.attempts - 1, SETUP_BACKOFF);
      const retryIn = Math.round(delayMs / 1000);
      log.warn({ err, retryIn }, `Setting up ${entry.id} failed; retrying in ${retryIn} s`);
      this.scheduleRetry(entry, delayMs);
      return false;
    }
  }

  /** Sets up the entry's platforms (entity kinds) concurrently: registers their entities. */
  async forwardEntrySetups(entry: ConfigEntry, platforms: readonly string[]): Promise<void> {
    const device = entry.runtime?.device;
    if (device === undefined) return;
    await gatherWithLimitedConcurrency(
      4,
      platforms.map((platform) => async () => {
        for (const entity of device.entities.values()) if (entity.kind === platform) this.entities.set(entity.entityId, entity);
      }),
    );
  }

  /** Undoes setupEntry: stops the device, unregisters its entities, lets go of its transport. */
  async unloadEntry(entry: ConfigEntry): Promise<void> {
    entry.state = "unload_in_progress";
    const device = entry.runtime?.device;
    if (device !== undefined) {
      await device.stop();
      for (const entity of device.entities.values()) {
        this.entities.delete(entity.entityId);
        this.deps.hub.states.remove(entity.entityId);
      }
    }
    entry.runtime = undefined;
    await this.releaseTransport(entry.id);
    entry.state = "not_loaded";
  }

  private scheduleRetry(entry: ConfigEntry, delayMs: number): void {
    const task = this.deps.hub.createBackgroundTask(
      async (signal) => {
        await sleep(delayMs, signal, this.deps.hub.clock);
        this.retries.delete(entry.id);
        // Under the lock: a restart or reload meanwhile may have replaced the entry.
        await this.exclusive(entry.id, async () => {
          if (this.entries.get(entry.id) === entry && entry.state === "setup_retry") await this.setupEntry(entry);
        });
      },
      { name: `retry setup ${entry.id}` },
    );
    this.retries.set(entry.id, { cancel: () => task.cancel("retry cancelled") });
  }

  private async transportFor(entry: ConfigEntry): Promise<Transport> {
    // A sysfs device needs no port, unless simulated: then its port is the simulated probe's folder (below).
    const own = entry.config.port === "sim" ? undefined : ownTransportOf(entry.definition, entry.config);
    if (own !== undefined) return own;
    // Devices configured on the same port share its transport (a Modbus bus); `sim` ports are never shared.
    const key = entry.config.port === "sim" ? `sim:${entry.id}` : entry.config.port;
    const shared = this.transports.get(key);
    if (shared !== undefined) {
      shared.users.add(entry.id);
      return shared.transport;
    }
    // Devices on one bus set up concurrently: the first makes the transport, the others wait for it.
    const making = this.linksInMaking.get(key);
    if (making !== undefined) {
      await making.catch(() => {});
      return this.transportFor(entry);
    }
    const make = (async () => {
      const { path, release } = await this.deps.ports.acquire(entry);
      const serial = serialSettingsOf(entry.definition, entry.config);
      const transport = ownTransportOf(entry.definition, { ...entry.config, port: path }) ?? this.deps.transports({ path, serial, framing: framingOf(entry.definition) });
      this.transports.set(key, { transport, users: new Set([entry.id]), release: [release] });
      return transport;
    })();
    this.linksInMaking.set(key, make);
    try {
      return await make;
    } finally {
      this.linksInMaking.delete(key);
    }
  }

  private async releaseTransport(deviceId: string): Promise<void> {
    for (const [key, shared] of this.transports) {
      if (!shared.users.delete(deviceId) || shared.users.size > 0) continue;
      this.transports.delete(key);
      try {
        await shared.transport.close();
      } finally {
        for (const release of shared.release) await release();
      }
    }
  }
}
