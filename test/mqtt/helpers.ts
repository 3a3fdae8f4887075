import { afterEach } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSetup } from "../../src/catalogue.ts";
import { createLogger, MemoryLogDestination } from "../../src/core/logger.ts";
import { Service, type ServiceOptions } from "../../src/service.ts";
import { Peer, startBroker, type TestBroker } from "./broker.ts";
import { componentAsHa } from "./ha-rules.ts";

const cleanups: Array<() => Promise<unknown>> = [];

/** Stops everything a test started, the last started first. */
export function cleanUpAfterEach(): void {
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });
}

/** A broker stopped after the test. */
export async function broker(options: Parameters<typeof startBroker>[0] = {}): Promise<TestBroker> {
  const b = await startBroker(options);
  cleanups.push(() => b.stop());
  return b;
}

/** A peer client subscribed to `topics`, closed after the test. */
export async function peer(url: string, topics: string[] = ["hearth/test/#", "homeassistant/#"], options = {}): Promise<Peer> {
  const p = await Peer.connect(url, topics, options);
  cleanups.push(() => p.close());
  return p;
}

/** A hearth.yaml for one test in a temporary folder (removed after the test), rewritable for reloads. */
export function configFile(text: string): { path: string; dir: string; write: (text: string) => void } {
  const dir = mkdtempSync(join(tmpdir(), "hearth-mqtt-"));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "hearth.yaml");
  writeFileSync(path, text);
  return { path, dir, write: (t) => writeFileSync(path, t) };
}

/** hearth.yaml text: node `test` on `url`, with simulated hearth-io boards. */
export function yaml(url: string, devices: string[] = ["board"], extra = ""): string {
  const boards = devices.map((id) => `  - id: ${id}\n    model: hearth-io\n    port: sim\n    options: { interval: 60000 }\n`).join("");
  return `node_id: test\nshutdown: { shutdown_jobs: 2, cancel: 2, tracked: 2, final_write: 2, close: 2 }\nmqtt:\n  url: ${url}\n  base_topic: hearth/test\n  max_payload: 1024\n${extra}devices:\n${boards}`;
}

/** A running hearth service from a config file (its model files read at start, as the service does), stopped after the test. */
export async function hearth(file: { path: string }, options: ServiceOptions = {}) {
  const logs = new MemoryLogDestination();
  const { config } = await loadSetup(file.path);
  const service = new Service(config, {
    configFile: file.path,
    log: createLogger({ level: "debug", destination: logs }),
    ...options,
    mqtt: { backoff: { initialMs: 50, maxMs: 500 }, birthDelayMs: 50, ...options.mqtt },
  });
  cleanups.push(() => service.stop());
  await service.start();
  return { service, logs };
}

/** Whether a JSON payload parses and passes `match`. */
export function json<T = Record<string, unknown>>(match: (value: T) => boolean): (payload: string) => boolean {
  return (payload) => {
    try {
      return match(JSON.parse(payload) as T);
    } catch {
      return false;
    }
  };
}

/**
 * One entity as Home Assistant takes it from its device's discovery config (`homeassistant/device/test_<device>/config`):
 * the component's keys with the device's shared ones (state topic, availability), its device and origin. The
 * next such config whose component passes `match`, as Peer.json finds it.
 */
export async function discovered<T = Record<string, unknown>>(p: Peer, device: string, key: string, match: (component: T) => boolean = () => true, ms = 5000): Promise<T> {
  const config = await p.json<Record<string, unknown>>(
    `homeassistant/device/test_${device}/config`,
    (c) => {
      const component = componentAsHa(c, key);
      return component !== undefined && Object.keys(component).length > 3 && match(component as T);
    },
    ms,
  );
  return componentAsHa(config, key) as T;
}
