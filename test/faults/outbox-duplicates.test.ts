// Issue 12, defect 3: a SIGKILL shortly after a backlog went out made hearth send all of it again, as
// fresh publishes a subscriber could not tell from new events. Each queued message now carries an id
// that stays the same when it is sent again, and the delivered ones are forgotten soon after their ack.
import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { join } from "node:path";
import mqtt from "mqtt";
import { broker, cleanUpAfterEach, configFile, hearth, peer, yaml } from "../mqtt/helpers.ts";
import { boards, cleanUpProcessesAfterEach, configText, HearthProcess, tempDir, until } from "./outbox-process.ts";

cleanUpAfterEach();
cleanUpProcessesAfterEach();

const EVENTS = "hearth/test/+/event";
const PROBE = "hearth/test/probe";

/** Messages in the outbox of the database at `path`, as another reader sees it. */
function onDisk(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return db.query<{ n: number }, []>("SELECT count(*) AS n FROM outbox").get()!.n;
  } finally {
    db.close();
  }
}

test("after a SIGKILL 0.17 s after a backlog of 10 went out, at most one comes again, with the id of its first copy", async () => {
  const b = await broker({ persistent: true });
  // A user with a persistent session: what hearth sends while it is reconnecting waits for it at the broker.
  const user = await peer(b.url, [EVENTS, "hearth/test/bridge/state", "hearth/test/bridge/response/health"], { clientId: "user-duplicates", clean: false });
  await b.kill("SIGTERM");
  const sims = boards(10);
  const dir = tempDir("hearth-duplicates-");
  const config = configText(b.url, sims);
  const first = await HearthProcess.start(dir, config, dir);
  const sent = sims.map((_, i) => `e${i + 1}`);
  for (const [i, sim] of sims.entries()) {
    await sim.boot(sent[i]!);
    await first.booted(sent[i]!);
  }
  // The backlog had waited long enough to be on disk (the old outbox committed after a second).
  await until(() => onDisk(join(dir, "hearth.db")) >= sent.length, "the backlog is on disk");

  await b.restart();
  await user.next(sims.at(-1)!.events, (p) => p.includes('"e10"'), 20_000);
  // The moment of the kill is the point of the test: 0.17 s after the backlog went out, as in the issue.
  await Bun.sleep(170);
  await first.kill();

  const online = user.fresh("hearth/test/bridge/state", (p) => p === "online", 15_000);
  const second = await HearthProcess.start(dir, config, dir);
  await online;
  // The reply is queued behind whatever the outbox still held: once it is in, every copy sent again is too.
  await user.publish("hearth/test/bridge/request/health", JSON.stringify({ transaction: "after-restart" }));
  await user.json("hearth/test/bridge/response/health", (v) => v.transaction === "after-restart", 15_000);
  await second.kill();

  const events = user.received
    .filter((m) => m.topic.endsWith("/event"))
    .map((m) => JSON.parse(m.payload) as { sw_version: string; message_id?: unknown })
    .filter((e) => e.sw_version.startsWith("e"));
  const firstCopies = new Map<string, unknown>();
  for (const e of events) {
    expect(typeof e.message_id).toBe("string");
    if (!firstCopies.has(e.sw_version)) firstCopies.set(e.sw_version, e.message_id);
    else expect(e.message_id).toBe(firstCopies.get(e.sw_version)); // a copy sent again: the same id
  }
  expect([...firstCopies.keys()]).toEqual(sent);
  expect(new Set(firstCopies.values()).size).toBe(sent.length); // distinct events: distinct ids
  expect(events.length - sent.length).toBeLessThanOrEqual(1);
});

test("with MQTT 5 the message id is also a user property, on JSON and plain payloads alike", async () => {
  const b = await broker();
  const { service } = await hearth(configFile(yaml(b.url, ["board"], "  protocol_version: 5\n")));
  const client = await mqtt.connectAsync(b.url, { protocolVersion: 5, reconnectPeriod: 0 });
  const got: Array<{ payload: string; id: unknown }> = [];
  client.on("message", (topic, payload, packet) => {
    if (topic === PROBE) got.push({ payload: payload.toString(), id: packet.properties?.userProperties?.message_id });
  });
  await client.subscribeAsync(PROBE, { qos: 1 });
  try {
    const bridge = service.bridge!;
    await until(() => bridge.connection?.connected === true, "hearth connects");
    bridge.publisher!.enqueue(PROBE, { event: "json" });
    bridge.publisher!.enqueue(PROBE, "plain");
    await until(() => got.length >= 2, "both messages arrive");
    expect(got).toHaveLength(2);
    const [json, plain] = got as [{ payload: string; id: unknown }, { payload: string; id: unknown }];
    expect(typeof json.id).toBe("string");
    expect(JSON.parse(json.payload)).toEqual({ event: "json", message_id: json.id });
    expect(plain.payload).toBe("plain");
    expect(typeof plain.id).toBe("string");
    expect(plain.id).not.toBe(json.id);
  } finally {
    await client.endAsync(true);
  }
});
