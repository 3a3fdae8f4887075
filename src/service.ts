import { join } from "node:path";
import { builtInCatalogue, catalogueFor, type LoadedSetup, loadSetup } from "./catalogue.ts";
import { ConfigError } from "./config/load.ts";
import type { ConfigReloadResult, DeviceReloadResult } from "./config/reload.ts";
import { reloadRefusal, restartNotes } from "./config/reload.ts";
import type { Config } from "./config/schema.ts";
import { httpPassword, mqttPassword } from "./config/secrets.ts";
import { ConfigEditor } from "./config-editor.ts";
import { Hub } from "./core/hub.ts";
import { callback, Job } from "./core/job.ts";
import { LogRing } from "./core/log-ring.ts";
import { createLogger, type DestinationStream, type Logger } from "./core/logger.ts";
import { LoopMonitor } from "./core/loop-monitor.ts";
import { installSignalHandlers, restartProcess } from "./core/signals.ts";
import { SystemdNotifier } from "./core/systemd-notify.ts";
import { changedModels, type ModelCatalogue } from "./engine/catalogue.ts";
import { ConfiguredPorts, serialTransports } from "./engine/configured-ports.ts";
import { DeviceManager } from "./engine/manager.ts";
import { logStateChanges } from "./engine/state-log.ts";
import type { MqttFigures } from "./http/metrics.ts";
import type { HttpServer } from "./http/server.ts";
import { webServer } from "./http/web.ts";
import { Bridge, type BridgeDeps } from "./mqtt/bridge.ts";
import { sharedReaderPool } from "./serial/reader-pool.ts";
import { SqliteOutbox } from "./storage/sqlite-outbox.ts";
import { StateStore } from "./storage/state-store.ts";
import { VERSION } from "./version.ts";
import { workerScript } from "./worker-entries.ts";

export interface ServiceOptions {
  /** The file the configuration came from (reloads read it again); undefined for the embedded defaults. */
  configFile?: string;
  log?: Logger;
  /** Where the logger this service makes writes (stdout when omitted; tests: memory); unused with `log`. */
  logDestination?: DestinationStream;
  /** Install SIGTERM/SIGINT/SIGHUP handlers (the CLI does; tests running in-process do not). */
  signals?: boolean;
  /** How the process exits after a signal's or a restart request's shutdown (process.exit by default); given, it also allows restart requests. */
  exit?: (code: number) => void;
  /**
   * Where hearth keeps its database (the durable outbox) and the firmware images it wrote (`firmware/`);
   * without it, queued messages live in memory only and firmware updates are refused.
   */
  dataDir?: string;
  /** The avrdude firmware updates run (default: the one on the PATH). */
  avrdude?: string;
  /**
   * The models its devices can be at start (the CLI hands over those it checked the configuration against);
   * default: the built-ins with the configuration's model files, read at start. A reload reads the files again.
   */
  catalogue?: ModelCatalogue;
  /** Overrides of the MQTT bridge's parts (tests: the embedded broker's port, reconnect backoff, outbox). */
  mqtt?: Partial<Pick<BridgeDeps, "embeddedPort" | "backoff" | "birthDelayMs" | "outbox" | "infoInterval">>;
}

/** A running hearth: the hub, its loop monitor and its devices, reloadable and stoppable. */
export class Service {
  readonly hub: Hub;
  readonly log: Logger;
  /** The last log lines of the logger this service made (none with a `log` of the caller's), for the web console's log page. */
  readonly logRing = new LogRing();
  readonly monitor: LoopMonitor;
  readonly ports: ConfiguredPorts;
  readonly devices: DeviceManager;
  /** hearth on MQTT: created here, started with the service, stopped as its last step. */
  bridge: Bridge | undefined;
  /** The web console and /metrics, when the configuration has `http:`; started first, stopped with the bridge. */
  http: HttpServer | undefined;
  /** The configuration in force: the last one that passed validation. */
  config: Config;
  private readonly options: ServiceOptions;
  private readonly cleanups: Array<() => void> = [];
  private starting: Promise<void> | undefined;
  /** A restart under way (one, however many requests ask for it). */
  private restarting: Promise<void> | undefined;
  private readonly executorScript: ReturnType<typeof workerScript>;

  constructor(config: Config, options: ServiceOptions = {}) {
    this.config = config;
    this.options = options;
    this.log = options.log ?? createLogger({ level: config.log_level, base: { node: config.node_id }, destination: options.logDestination, tee: this.logRing });
    // The Workers start on hearth's own entries (src/worker-entries.ts), which find them inside a binary too.
    const executorScript = workerScript("executor");
    this.executorScript = executorScript;
    this.hub = new Hub({
      log: this.log,
      startTimeout: config.start_timeout,
      executorWorkers: config.executor.workers,
      executorScript,
      stageTimeouts: {
        shutdownJobs: config.shutdown.shutdown_jobs,
        cancel: config.shutdown.cancel,
        tracked: config.shutdown.tracked,
        finalWrite: config.shutdown.final_write,
        close: config.shutdown.close,
      },
    });
    this.monitor = new LoopMonitor({
      hub: this.hub,
      slowThresholdMs: config.loop_monitor.slow_threshold_ms,
      blockingCalls: config.loop_monitor.blocking_calls,
      watchdogScript: workerScript("loopWatchdog"),
    });
    const deviceLog = this.log.child({ component: "devices" });
    this.ports = new ConfiguredPorts();
    this.devices = new DeviceManager({
      hub: this.hub,
      log: deviceLog,
      nodeId: config.node_id,
      catalogue: options.catalogue ?? builtInCatalogue(),
      transports: serialTransports({ hub: this.hub, log: deviceLog }),
      ports: this.ports,
      // The image last written to each device, for rolling a failed firmware update back.
      ...(options.dataDir === undefined ? {} : { firmwareDir: join(options.dataDir, "firmware") }),
      ...(options.avrdude === undefined ? {} : { avrdude: options.avrdude }),
    });
  }

  /** The models in force (built-ins and model files); reloads read the model files again. */
  get catalogue(): ModelCatalogue {
    return this.devices.catalogue;
  }

  /**
   * Starts everything: the monitor, the devices (set up while the hub starts), then the hub. A second call
   * gets the first one's promise: one bridge, one set of signal handlers.
   */
  start(): Promise<void> {
    this.starting ??= this.runStart();
    return this.starting;
  }

  private async runStart(): Promise<void> {
    const { log, config } = this;
    // Read before anything starts: a model file broken since the configuration was checked stops the start here.
    const catalogue = this.options.catalogue ?? (await catalogueFor(config, this.options.configFile));
    this.logReplacements(catalogue);
    sharedReaderPool.configure({ log: log.child({ component: "serial" }), workerScript: this.executorScript });
    // First, so that a taken port or a bad password file stops the start before anything else has begun.
    if (config.http !== undefined) this.startHttp(config.http, await httpPassword(config.http));
    try {
      await this.startAfterHttp(catalogue);
    } catch (err) {
      await this.http?.stop(); // the port is not held by a hearth that did not start
      throw err;
    }
  }

  private async startAfterHttp(catalogue: ModelCatalogue): Promise<void> {
    const { hub, log, config } = this;
    await this.monitor.start();
    this.bridge = new Bridge({
      hub,
      log: log.child({ component: "mqtt" }),
      nodeId: config.node_id,
      mqtt: config.mqtt,
      devices: this.devices.view(),
      password: await mqttPassword(config.mqtt),
      loop: () => this.monitor.stats(),
      reloadConfig: this.options.configFile === undefined ? undefined : () => this.reload(),
      reloadDevice: (id) => this.reloadDevice(id),
      setLogLevel: (level) => {
        this.log.level = level;
        this.log.info(`Log level is now ${level}`);
      },
      // Only a process of its own restarts: hearth run (signals), or a caller that says how to exit.
      ...(this.options.signals || this.options.exit ? { restart: () => void (this.restarting ??= restartProcess(hub, this.options.exit ?? ((code) => process.exit(code)))) } : {}),
      ...(this.options.dataDir === undefined
        ? {}
        : {
            outbox: new SqliteOutbox({ path: join(this.options.dataDir, "hearth.db"), log: log.child({ component: "outbox" }), clock: hub.clock }).open(),
            states: new StateStore({ path: join(this.options.dataDir, "hearth.db"), clock: hub.clock }).open(),
          }),
      ...this.options.mqtt,
    });
    const bridge = this.bridge;
    // Stopped in the close stage, after the devices have unloaded (their `offline` goes out first).
    hub.bus.listenOnce("hub_close", async () => bridge.stop(), { name: "stop mqtt bridge" });
    await bridge.start();
    if (this.options.signals) {
      this.cleanups.push(installSignalHandlers(hub, this.options.exit));
      const onHup = () => void this.reload().catch((err) => log.error({ err }, "Reload failed"));
      process.on("SIGHUP", onHup);
      this.cleanups.push(() => process.off("SIGHUP", onHup));
      // A service runs until told to stop, even with nothing scheduled: hold the loop open until close.
      const keepAlive = setInterval(() => {}, 1 << 30);
      this.cleanups.push(() => clearInterval(keepAlive));
    }
    if (config.log_states) this.cleanups.push(logStateChanges({ hub, log: log.child({ component: "states" }), entities: this.devices.entities }));
    hub.addShutdownJob(new Job(async () => this.devices.stop(), { name: "unload devices" }));
    hub.bus.listenOnce(
      "hub_close",
      callback(() => this.dispose()),
      { name: "service cleanup" },
    );
    log.info({ version: VERSION, bun: Bun.version, pid: process.pid }, `hearth ${VERSION} starting on node ${config.node_id}`);
    // Kept as it was (hearth runs the bridge alone), but said: an emptied or cut file looks like this at start-up.
    if (this.options.configFile !== undefined && config.devices.length === 0)
      log.warn({ file: this.options.configFile }, `${this.options.configFile} names no devices: hearth runs without any until a reload adds some`);
    const setup = this.devices.setup(config.devices, catalogue);
    await hub.start();
    await setup;
    log.info("hearth is running; stop it with Ctrl-C or SIGTERM, reload its configuration with SIGHUP");
    // Under systemd's Type=notify: READY=1 now, STOPPING=1 at hub_stop, watchdog pings until then.
    const notifier = new SystemdNotifier({ hub, log: log.child({ component: "systemd" }) });
    this.cleanups.push(() => void notifier.stop());
    await notifier.start();
  }

  private startHttp(http: NonNullable<Config["http"]>, password: string | undefined): void {
    const server = webServer({
      log: this.log.child({ component: "http" }),
      http,
      password,
      logRing: this.logRing,
      sources: {
        hub: this.hub,
        devices: this.devices.view(),
        loop: () => ({ ...this.monitor.stats(), ...this.monitor.lagMetrics() }),
        executor: () => {
          const executor = this.hub.executorIfStarted;
          return executor?.stats === undefined || executor.latencyHistogram === undefined ? undefined : { stats: executor.stats(), latency: executor.latencyHistogram() };
        },
        mqtt: () => (this.bridge === undefined ? undefined : mqttFigures(this.bridge)),
        version: VERSION,
        nodeId: this.config.node_id,
      },
      // The page at /config edits the file this hearth reloads; with the embedded defaults there is none.
      ...(this.options.configFile === undefined ? {} : { config: new ConfigEditor({ file: this.options.configFile, current: () => this.config, reload: () => this.reload() }) }),
    });
    server.start();
    this.http = server;
    this.hub.bus.listenOnce("hub_close", async () => server.stop(), { name: "stop web server" });
  }

  /** Stops hearth (staged shutdown). */
  async stop(): Promise<void> {
    await this.hub.stop();
  }

  /**
   * Reads the configuration again and applies it: only devices whose settings changed are reloaded.
   * A configuration that fails validation, or that would remove every device without saying `devices: []`,
   * is refused and the last good one stays in force; node_id and mqtt changes wait for a restart.
   */
  async reload(): Promise<ConfigReloadResult> {
    const file = this.options.configFile;
    let loaded: LoadedSetup;
    try {
      loaded = await loadSetup(file);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return this.refuseReload(err.problems);
    }
    const refusal = reloadRefusal(this.config, loaded);
    if (refusal !== undefined) return this.refuseReload([refusal]);
    let next = loaded.config;
    if (next.log_level !== this.config.log_level) {
      this.log.level = next.log_level;
      this.log.info(`Log level is now ${next.log_level}`);
    }
    const notes = restartNotes(this.config, next);
    for (const note of notes) this.log.warn(`Configuration reloaded, but ${note}`);
    // The bridge keeps its connection, the web server its address and the devices their node: those settings stay the ones in force.
    next = { ...next, node_id: this.config.node_id, mqtt: this.config.mqtt, http: this.config.http };
    this.config = next;
    this.logReplacements(loaded.catalogue, this.catalogue);
    const result = await this.devices.reload(next.devices, loaded.catalogue);
    return { ok: true, added: result.added, removed: result.removed, reloaded: result.reloaded, ...(notes.length > 0 ? { notes } : {}) };
  }

  /** Says, once per model file, that a user's model replaces the built-in of its name (at start, and on a reload that brings the file). */
  private logReplacements(next: ModelCatalogue, previous?: ModelCatalogue): void {
    for (const model of next.entries()) {
      if (model.replaces === undefined || previous?.get(model.definition.model)?.source === model.source) continue;
      const name = model.definition.model;
      this.log.info({ model: name, file: model.source, replaces: model.replaces.source }, `Model ${name} of ${model.source} replaces the built-in ${name}`);
    }
  }

  private refuseReload(problems: string[]): ConfigReloadResult {
    this.log.error({ problems }, `Configuration reload refused; keeping the last good configuration: ${problems.join("; ")}`);
    return { ok: false, problems };
  }

  /**
   * `device/reload`: reads the configuration file again and sets up that one device from its entry there
   * (from the configuration in force when hearth runs without a file); the other devices, and the rest
   * of the configuration, are left as they are. `device/restart` instead only reopens the device's link.
   */
  async reloadDevice(id: string): Promise<DeviceReloadResult> {
    let source = this.config;
    if (this.options.configFile !== undefined) {
      let problems: string[];
      try {
        const loaded = await loadSetup(this.options.configFile);
        source = loaded.config;
        const refusal = reloadRefusal(this.config, loaded);
        problems = refusal === undefined ? [] : [refusal];
        // It sets up one device with the models in force; new model files wait for config/reload.
        const model = source.devices.find((d) => d.id === id)?.model;
        if (problems.length === 0 && model !== undefined && changedModels(this.catalogue, loaded.catalogue).includes(model)) {
          problems = [`its model ${model} is not the one in force (its model file changed or is new): config/reload reads the model files`];
        }
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        problems = err.problems;
      }
      if (problems.length > 0) {
        this.log.error({ problems, device: id }, `Reload of ${id} refused; it keeps its configuration: ${problems.join("; ")}`);
        return { ok: false, problems: [`the configuration is refused: ${problems.join("; ")}`] };
      }
    }
    const fresh = source.devices.find((d) => d.id === id);
    if (fresh === undefined) return { ok: false, problems: [`it is no longer in the configuration (config/reload removes it)`] };
    const devices = this.config.devices.map((d) => (d.id === id ? fresh : d));
    const result = await this.devices.reload(devices);
    const changed = result.reloaded.includes(id);
    if (!changed) await this.devices.restart(id); // the same entry: set up again from it
    this.config = { ...this.config, devices };
    this.log.info({ device: id, changed }, `Device ${id} reloaded from the configuration${changed ? " (its entry changed)" : ""}`);
    return { ok: true, changed };
  }

  private dispose(): void {
    for (const cleanup of this.cleanups.splice(0).reverse()) {
      try {
        cleanup();
      } catch (err) {
        this.log.warn({ err }, "Cleanup failed");
      }
    }
  }
}

/** What /metrics shows of the bridge. */
function mqttFigures(bridge: Bridge): MqttFigures {
  const stats = bridge.connection?.stats ?? { connects: 0, published: 0, received: 0 };
  const outbox = bridge.outbox.counts();
  return {
    connected: bridge.connection?.connected ?? false,
    // The node it is on (or trying) when given a cluster's.
    url: withoutCredentials(bridge.connection?.node.url ?? bridge.broker?.url ?? ""),
    connects: stats.connects,
    received: stats.received,
    published: stats.published,
    refused: bridge.counters.refused,
    invalid: bridge.counters.invalid,
    outboxQueued: outbox.queued,
    outboxDropped: outbox.dropped,
    outboxSetAside: outbox.set_aside,
  };
}

/** A broker URL with its user and password taken out: the web console shows it to whoever signed in. */
function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = "";
    parsed.password = "";
    return parsed.href;
  } catch {
    return url.replace(/\/\/[^@/]*@/, "//");
  }
}

/** Builds and starts a service (the CLI's `run`). */
export async function startService(config: Config, options: ServiceOptions = {}): Promise<Service> {
  const service = new Service(config, options);
  await service.start();
  return service;
}
