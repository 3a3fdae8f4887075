import { expect, test } from "bun:test";
import { tempDir } from "../helpers/temp.ts";
import { broker, cleanUpAfterEach, configFile, hearth, json, peer, yaml } from "./helpers.ts";

cleanUpAfterEach();

test("after a restart the last known state is republished, marked restored, until the device reports afresh", async () => {
  const dataDir = tempDir("hearth-data-");
  const b = await broker();
  const user = await peer(b.url);
  const first = await hearth(configFile(yaml(b.url)), { dataDir });
  await user.next("hearth/test/board/availability", (p) => p === "online");
  await user.publish("hearth/test/board/set/relay1", "ON");
  await user.next(
    "hearth/test/board",
    json((s: Record<string, unknown>) => s.relay1 === "ON"),
  );
  await first.service.stop(); // commits the coalesced state

  // The board's port is gone after the restart: nothing fresh can come from it.
  const gone = yaml(b.url, []).replace("devices:\n", "devices:\n  - id: board\n    model: hearth-io\n    port: /dev/hearth-unplugged\n");
  const late = await peer(b.url);
  await hearth(configFile(gone), { dataDir });
  const restored = await late.next(
    "hearth/test/board",
    json((s: Record<string, unknown>) => s.restored === true),
  );
  expect(JSON.parse(restored.payload)).toMatchObject({ relay1: "ON", restored: true });
  expect(typeof JSON.parse(restored.payload).temperature).toBe("number");
});

test("once the device reports after a restart, its state is live again and no longer marked restored", async () => {
  const dataDir = tempDir("hearth-data-");
  const b = await broker();
  const file = configFile(yaml(b.url));
  const first = await hearth(file, { dataDir });
  const user = await peer(b.url);
  await user.next(
    "hearth/test/board",
    json((s: Record<string, unknown>) => typeof s.temperature === "number"),
  );
  await first.service.stop();
  const mark = user.received.length;
  await hearth(file, { dataDir });
  const live = await user.next(
    "hearth/test/board",
    json((s: Record<string, unknown>) => typeof s.temperature === "number" && !("restored" in s)),
    5000,
    mark,
  );
  expect(JSON.parse(live.payload)).not.toHaveProperty("restored");
  const late = await peer(b.url); // and what a newcomer gets is the live state too
  expect(JSON.parse((await late.next("hearth/test/board")).payload)).not.toHaveProperty("restored");
});
