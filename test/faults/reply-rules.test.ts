import { expect, test } from "bun:test";
import { broker, cleanUpAfterEach, configFile, hearth, json, peer, yaml } from "../mqtt/helpers.ts";

// Issue 12, smaller ones: a set with a transaction to an unknown device got no reply (the README says it
// does); an oversized get got an error reply while a normal get never replied; and defect 1's error reply
// quoted a 19,940-byte value back. The rule now: a message with a transaction gets exactly one reply; a
// bridge request always gets one; without a transaction a set or get gets none, its errors are logged.

cleanUpAfterEach();

type Reply = { status: string; data: Record<string, unknown>; error?: string; transaction?: unknown; message_id?: unknown };

async function running(maxPayload = 1024) {
  const b = await broker();
  const user = await peer(b.url);
  const file = configFile(yaml(b.url).replace("max_payload: 1024", `max_payload: ${maxPayload}`));
  const { service, logs } = await hearth(file);
  await user.next(
    "hearth/test/board",
    json((s) => typeof s.temperature === "number"),
  );
  return { b, user, service, logs };
}

test("a set with a transaction to a device hearth does not have is answered on bridge/response/set", async () => {
  const { user } = await running();
  const reply = user.json<Reply>("hearth/test/bridge/response/set", (r) => r.transaction === "g-1");
  await user.publish("hearth/test/ghost/set", JSON.stringify({ relay1: "ON", transaction: "g-1" }));
  expect(await reply).toEqual({ status: "error", data: {}, error: 'no device "ghost" (devices: board)', transaction: "g-1", message_id: expect.any(String) });
  expect(user.received.some((m) => m.topic === "hearth/test/ghost/response")).toBe(false);
  const get = user.json<Reply>("hearth/test/bridge/response/get", (r) => r.transaction === 2);
  await user.publish("hearth/test/ghost/get", JSON.stringify({ transaction: 2 }));
  expect((await get).error).toBe('no device "ghost" (devices: board)');
});

test("a get with a transaction is answered with what it read; without one it only republishes the state", async () => {
  const { user } = await running();
  const all = user.json<Reply>("hearth/test/board/response", (r) => r.transaction === 1);
  await user.publish("hearth/test/board/get", JSON.stringify({ transaction: 1 }));
  const reply = await all;
  expect(reply.status).toBe("ok");
  expect(reply.data.temperature).toBeNumber();
  expect(reply.data.relay1).toBe("OFF");
  const one = user.json<Reply>("hearth/test/board/response", (r) => r.transaction === "h");
  await user.publish("hearth/test/board/get/humidity", JSON.stringify({ transaction: "h" }));
  expect(Object.keys((await one).data)).toEqual(["humidity"]);
  const bad = user.json<Reply>("hearth/test/board/response", (r) => r.transaction === 3);
  await user.publish("hearth/test/board/get/nosuch", JSON.stringify({ transaction: 3 }));
  expect(await bad).toMatchObject({ status: "error", error: 'board has no entity "nosuch"' });
  const republished = user.fresh("hearth/test/board");
  await user.publish("hearth/test/board/get", "");
  await republished;
  // A marker: answered after anything the plain get might have answered.
  const marker = user.json<Reply>("hearth/test/board/response", (r) => r.transaction === "m");
  await user.publish("hearth/test/board/get", JSON.stringify({ transaction: "m" }));
  await marker;
  expect(user.received.filter((m) => m.topic === "hearth/test/board/response").map((m) => JSON.parse(m.payload).transaction)).toEqual([1, "h", 3, "m"]);
});

test("an oversized set or get is refused, logged, and answered only where a bridge request would be", async () => {
  const { user, logs } = await running();
  const big = JSON.stringify({ transaction: "big", pad: "x".repeat(2000) });
  await user.publish("hearth/test/board/get", big);
  await user.publish("hearth/test/board/set", big);
  const request = user.json<Reply>("hearth/test/bridge/response/health", (r) => r.status === "error");
  await user.publish("hearth/test/bridge/request/health", big);
  expect((await request).error).toBe(`payload of ${big.length} bytes refused unread: mqtt.max_payload is 1024`);
  const marker = user.json<Reply>("hearth/test/board/response", (r) => r.transaction === "m");
  await user.publish("hearth/test/board/set/relay1", JSON.stringify({ value: "ON", transaction: "m" }));
  await marker;
  expect(user.received.filter((m) => m.topic === "hearth/test/board/response").map((m) => JSON.parse(m.payload).transaction)).toEqual(["m"]);
  expect(logs.find("Refused a message on hearth/test/board/")).toHaveLength(2);
});

test("input quoted in a reply or a log line is clipped: a 19,940-byte value does not come back", async () => {
  const { user, logs } = await running(65536);
  const value = "x".repeat(19_940);
  const reply = user.json<Reply>("hearth/test/board/response", (r) => r.transaction === 1);
  await user.publish("hearth/test/board/set", JSON.stringify({ relay1: value, transaction: 1 }));
  const answered = await reply;
  expect(answered.status).toBe("error");
  expect(answered.error).toStartWith('relay1: expected ON, OFF or TOGGLE, got "xxx');
  expect(answered.error).toContain("more characters");
  expect(JSON.stringify(answered).length, JSON.stringify(answered)).toBeLessThan(400);
  const key = user.json<Reply>("hearth/test/board/response", (r) => r.transaction === 2);
  await user.publish("hearth/test/board/set", JSON.stringify({ [`k${value}`]: "ON", transaction: 2 }));
  const keyReply = JSON.stringify(await key);
  expect(keyReply.length, keyReply).toBeLessThan(400);
  const unknown = user.json<Reply>("hearth/test/bridge/response/set", (r) => r.transaction === 3);
  await user.publish(`hearth/test/${"g".repeat(5000)}/set`, JSON.stringify({ relay1: "ON", transaction: 3 }));
  const unknownReply = JSON.stringify(await unknown);
  expect(unknownReply.length, unknownReply).toBeLessThan(400);
  const request = user.json<Reply>(`hearth/test/bridge/response/${"r".repeat(5000)}`, (r) => r.transaction === 4);
  await user.publish(`hearth/test/bridge/request/${"r".repeat(5000)}`, JSON.stringify({ transaction: 4 }));
  expect((await request).error!.length).toBeLessThan(400);
  for (const line of logs.lines) expect(JSON.stringify(line).length).toBeLessThan(2000);
});
