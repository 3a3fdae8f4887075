import { expect, test } from "bun:test";
import { builtInCatalogue } from "../../src/catalogue.ts";
import { healthCommand } from "../../src/commands/health.ts";
import { loadCheckedConfig } from "../../src/config/load.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { EmbeddedBroker } from "../../src/mqtt/embedded-broker.ts";
import { isMqttError } from "../../src/mqtt/errors.ts";
import { freePort } from "./broker.ts";
import { broker, cleanUpAfterEach, configFile, hearth, json, peer, yaml } from "./helpers.ts";

cleanUpAfterEach();

const noUrl = (devices = "  - id: board\n    model: hearth-io\n    port: sim\n    options: { interval: 60000 }\n") =>
  `node_id: test\nshutdown: { shutdown_jobs: 2, cancel: 2, tracked: 2, final_write: 2, close: 2 }\nmqtt:\n  base_topic: hearth/test\ndevices:\n${devices}`;

test("with no mqtt.url hearth runs its own broker, and a client sees states and switches a relay through it", async () => {
  const port = await freePort();
  const { service } = await hearth(configFile(noUrl()), { mqtt: { embeddedPort: port } });
  expect(service.bridge!.broker?.url).toBe(`mqtt://127.0.0.1:${port}`);
  const user = await peer(`mqtt://127.0.0.1:${port}`);
  await user.next(
    "hearth/test/board",
    json((s: Record<string, unknown>) => typeof s.temperature === "number"),
  );
  await user.publish("hearth/test/board/set/relay1", "ON");
  await user.next(
    "hearth/test/board",
    json((s: Record<string, unknown>) => s.relay1 === "ON"),
  );
});

test("the embedded broker refuses a port that is taken, saying what to do", async () => {
  const taken = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  try {
    const embedded = new EmbeddedBroker({ log: silentLogger(), port: taken.port });
    const error = await embedded.start().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isMqttError(error, "MQTT_BROKER_PORT_TAKEN")).toBe(true);
    expect((error as Error).message).toBe(
      `Cannot start the embedded MQTT broker: 127.0.0.1:${taken.port} is already in use (another broker?). Set mqtt.url to use that broker, or stop whatever holds the port.`,
    );
    await embedded.stop();
  } finally {
    taken.stop(true);
  }
});

test("a second start() of the embedded broker, at once or later, does not listen again", async () => {
  const port = await freePort();
  const embedded = new EmbeddedBroker({ log: silentLogger(), port });
  try {
    const first = embedded.start();
    expect(embedded.start()).toBe(first);
    await first;
    await embedded.start(); // a second listen on the port would be refused with MQTT_BROKER_PORT_TAKEN
    expect(embedded.url).toBe(`mqtt://127.0.0.1:${port}`);
    const user = await peer(embedded.url);
    await user.publish("hearth/test/ping", "1");
  } finally {
    await embedded.stop();
  }
});

test("hearth health asks the running hearth over MQTT and exits 0 when healthy", async () => {
  const b = await broker();
  const file = configFile(yaml(b.url));
  const user = await peer(b.url);
  await hearth(file);
  await user.next("hearth/test/board/availability", (p) => p === "online");
  const printed: string[] = [];
  const code = await healthCommand(await loadCheckedConfig(file.path, builtInCatalogue().names()), { out: (t) => printed.push(t), err: (t) => printed.push(t) });
  expect(printed.join("")).toMatch(/^hearth \S+ on test: healthy, up \d+ s, 0 message\(s\) queued\n {2}board +available\n$/);
  expect(code).toBe(0);
});

test("hearth health exits 3 when nobody answers", async () => {
  const b = await broker();
  const printed: string[] = [];
  const code = await healthCommand(await loadCheckedConfig(configFile(yaml(b.url)).path, builtInCatalogue().names()), { out: (t) => printed.push(t), err: (t) => printed.push(t) }, { timeoutMs: 300 });
  expect(code).toBe(3);
  expect(printed.join("")).toContain("no answer on hearth/test/bridge/response/health within 0.3 s: is hearth running?");
});
