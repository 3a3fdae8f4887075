import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { builtInCatalogue } from "../../src/catalogue.ts";
import { loadCheckedConfig } from "../../src/config/load.ts";
import { createLogger, MemoryLogDestination } from "../../src/core/logger.ts";
import { startSimulator } from "../../src/engine/configured-ports.ts";
import { REQUEST_HANDLERS, type RequestContext } from "../../src/mqtt/requests.ts";
import { Service } from "../../src/service.ts";
import { deviceHub, stateOf } from "../engine/helpers.ts";
import { Peer, startBroker } from "../mqtt/broker.ts";

// Issue 12, defect 8: 20 device/restart requests at once all replied `ok`, but 6 reported setup_retry,
// 1 not_loaded, 10 no state, and hearth logged 21 false "Serial port … is in use by another program"
// warnings about its own port.

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A hearth-io simulator on a pseudo-terminal that hearth opens as a configured port (not `sim`), so every restart reopens the same path. */
function boardOnPty() {
  const sim = startSimulator(builtInCatalogue().simulator("hearth-io"), { interval: 60_000 });
  cleanups.push(() => sim.stop());
  return sim;
}

test("20 restarts of one device at once are serialised: each reply says loaded, the device ends loaded and working, no false busy warning", async () => {
  const sim = boardOnPty();
  const h = await deviceHub([{ id: "board", port: sim.pty.path }]);
  cleanups.push(h.stop);
  await stateOf(h.hub, "sensor.board_temperature", (s) => s.state !== "unavailable");
  const ctx: RequestContext = { devices: h.manager.view(), health: () => ({}), setLogLevel: () => {} };
  const replies = await Promise.all(
    Array.from({ length: 20 }, () =>
      Promise.resolve(REQUEST_HANDLERS["device/restart"]({ id: "board" }, ctx)).then(
        (data) => ({ status: "ok", data }),
        (err: Error) => ({ status: "error", error: err.message }),
      ),
    ),
  );
  expect(replies).toEqual(Array.from({ length: 20 }, () => ({ status: "ok", data: { id: "board", state: "loaded" } })));
  expect(h.manager.entries.get("board")?.state).toBe("loaded");
  expect(h.logs.find("in use by another program")).toEqual([]);
  await stateOf(h.hub, "sensor.board_temperature", (s) => s.state !== "unavailable");
  await h.manager.device("board")!.command("relay1", "ON");
  expect(h.hub.states.get("switch.board_relay1")?.state).toBe("on");
}, 60_000);

test("restarts and a reload of one device at the same time never overlap, and it ends loaded on its new settings", async () => {
  const sim = boardOnPty();
  const h = await deviceHub([{ id: "board", port: sim.pty.path }]);
  cleanups.push(h.stop);
  await stateOf(h.hub, "sensor.board_temperature", (s) => s.state !== "unavailable");
  const config = h.manager.entries.get("board")!.config;
  const results = await Promise.allSettled([h.manager.restart("board"), h.manager.reload([{ ...config, timeout: 1.5 }]), h.manager.restart("board"), h.manager.restart("board")]);
  expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "fulfilled", "fulfilled"]);
  expect(h.manager.entries.get("board")?.state).toBe("loaded");
  expect(h.manager.device("board")?.timeout).toBe(1.5);
  expect(h.logs.find("in use by another program")).toEqual([]);
  await stateOf(h.hub, "sensor.board_temperature", (s) => s.state !== "unavailable");
}, 60_000);

test("a restart whose set-up fails answers an error saying so, not ok", async () => {
  const sim = boardOnPty();
  const h = await deviceHub([{ id: "board", port: sim.pty.path }]);
  cleanups.push(h.stop);
  await stateOf(h.hub, "sensor.board_temperature", (s) => s.state !== "unavailable");
  await sim.stop(); // the port goes away for good
  const ctx: RequestContext = { devices: h.manager.view(), health: () => ({}), setLogLevel: () => {} };
  const err = await Promise.resolve(REQUEST_HANDLERS["device/restart"]({ id: "board" }, ctx)).catch((e: Error) => e);
  expect(err).toBeInstanceOf(Error);
  expect((err as Error).message).toContain("setup_retry");
  expect(h.manager.entries.get("board")?.state).toBe("setup_retry");
}, 60_000);

test("20 device/restart requests at once over MQTT each get a reply, all ok and loaded", async () => {
  const b = await startBroker();
  cleanups.push(() => b.stop());
  const sim = boardOnPty();
  const dir = mkdtempSync(join(tmpdir(), "hearth-faults-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "hearth.yaml");
  writeFileSync(
    file,
    `node_id: test\nshutdown: { shutdown_jobs: 2, cancel: 2, tracked: 2, final_write: 2, close: 2 }\n` +
      `mqtt:\n  url: ${b.url}\n  base_topic: hearth/test\ndevices:\n  - id: board\n    model: hearth-io\n    port: ${sim.pty.path}\n`,
  );
  const logs = new MemoryLogDestination();
  const service = new Service(await loadCheckedConfig(file, builtInCatalogue().names()), {
    configFile: file,
    log: createLogger({ level: "debug", destination: logs }),
    mqtt: { backoff: { initialMs: 50, maxMs: 500 }, birthDelayMs: 50 },
  });
  cleanups.push(() => service.stop());
  const user = await Peer.connect(b.url, ["hearth/test/#"]);
  cleanups.push(() => user.close());
  await service.start();
  await user.next("hearth/test/board/availability", (p) => p === "online", 10_000);
  const replies = Array.from({ length: 20 }, (_, i) =>
    user.json<{ status: string; data: { state?: string }; transaction: number }>("hearth/test/bridge/response/device/restart", (r) => r.transaction === i, 30_000),
  );
  await Promise.all(Array.from({ length: 20 }, (_, i) => user.publish("hearth/test/bridge/request/device/restart", JSON.stringify({ id: "board", transaction: i }))));
  const answers = await Promise.all(replies);
  expect(answers.map((a) => `${a.status} ${a.data.state}`)).toEqual(Array.from({ length: 20 }, () => "ok loaded"));
  expect(service.devices.entries.get("board")?.state).toBe("loaded");
  expect(logs.find("in use by another program")).toEqual([]);
}, 90_000);
