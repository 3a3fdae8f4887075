/**
 * The clustered brokers the failover tests use, checked as a user of a cluster would, with plain MQTT clients:
 * a two-node RabbitMQ cluster and two bridged Mosquittos.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type BridgedMosquittos, startBridgedMosquittos } from "../helpers/mosquitto-bridge.ts";
import { type RabbitCluster, rabbitAvailable, startRabbitCluster } from "../helpers/rabbitmq.ts";
import { MOSQUITTO, Peer } from "./broker.ts";

const unique = () => Math.random().toString(36).slice(2, 10);

describe.skipIf(rabbitAvailable() !== null)("a two-node RabbitMQ cluster", () => {
  let cluster: RabbitCluster;
  const peers: Peer[] = [];
  const peer = async (url: string, subscribe: string[] = []) => {
    const p = await Peer.connect(url, subscribe, { protocolVersion: 4, clientId: `check-${unique()}` });
    peers.push(p);
    return p;
  };
  beforeAll(async () => {
    cluster = await startRabbitCluster();
    console.info(`two-node RabbitMQ cluster started and joined in ${cluster.startMs} ms`);
  }, 120_000);
  afterAll(async () => {
    await Promise.all(peers.map((p) => p.close().catch(() => {})));
    await cluster?.stop();
  });

  test("a message published on either node reaches a subscriber on the other", async () => {
    const [a, b] = cluster.nodes;
    const topic = `t/${unique()}`;
    const onA = await peer(a.url, [topic]);
    const onB = await peer(b.url, [topic]);
    await onA.publish(topic, "from A");
    expect((await onB.next(topic, (p) => p === "from A")).payload).toBe("from A");
    await onB.publish(topic, "from B");
    expect((await onA.next(topic, (p) => p === "from B")).payload).toBe("from B");
  });

  test("a retained message stays on the node it was published to", async () => {
    const [a, b] = cluster.nodes;
    const topic = `r/${unique()}`;
    const publisher = await peer(a.url);
    await publisher.publish(topic, "kept", { retain: true });
    // A new subscriber on A gets it: the node stores it.
    const lateA = await peer(a.url, [topic]);
    expect(await lateA.next(topic)).toEqual({ topic, payload: "kept", retain: true });
    // A new subscriber on B gets nothing: RabbitMQ 3.10's retained store is per node, not replicated. Proved
    // against a message published after it on A, which B does receive (live, without the retain flag).
    const lateB = await peer(b.url, [topic]);
    await publisher.publish(topic, "live");
    const first = await lateB.next(topic);
    expect(first).toEqual({ topic, payload: "live", retain: false });
  });

  test("killing B leaves A working, and B restarted rejoins: a message crosses again", async () => {
    const [a, b] = cluster.nodes;
    const topic = `b/${unique()}`;
    await b.kill();
    const onA = await peer(a.url, [topic]);
    const other = await peer(a.url);
    await other.publish(topic, "A alone");
    expect((await onA.next(topic, (p) => p === "A alone")).payload).toBe("A alone");
    const restarted = Date.now();
    await b.restart();
    console.info(`RabbitMQ node B restarted and rejoined in ${Date.now() - restarted} ms`);
    const onB = await peer(b.url);
    await onB.publish(topic, "B is back");
    expect((await onA.next(topic, (p) => p === "B is back")).payload).toBe("B is back");
  }, 120_000);

  test("killing A leaves B working", async () => {
    const [a, b] = cluster.nodes;
    const topic = `k/${unique()}`;
    await a.kill();
    const onB = await peer(b.url, [topic]);
    const other = await peer(b.url);
    await other.publish(topic, "B alone");
    expect((await onB.next(topic, (p) => p === "B alone")).payload).toBe("B alone");
  }, 30_000);

  // Found while building this harness: node A (the one B joined), SIGKILLed and started again on its data while B
  // runs, stops after
  // "rabbit on node B up" in its log and its MQTT listener does not open within 90 s (the MQTT plugin's start, whose
  // client id tracking is a Ra cluster of both nodes, is where it waits). Not yet understood: restart() is kept,
  // this test says what it should do, and it is skipped until it does. B, the node that joined, restarts and rejoins
  // in about 5 s (the test above).
  test.skip("A restarted rejoins the cluster: a message crosses again", async () => {
    const [a, b] = cluster.nodes;
    const topic = `j/${unique()}`;
    const onB = await peer(b.url, [topic]);
    await a.restart();
    const onA = await peer(a.url);
    await onA.publish(topic, "A is back");
    expect((await onB.next(topic, (p) => p === "A is back")).payload).toBe("A is back");
  }, 120_000);
});

describe.skipIf(MOSQUITTO === null)("two bridged Mosquittos", () => {
  let brokers: BridgedMosquittos;
  const peers: Peer[] = [];
  const peer = async (url: string, subscribe: string[] = []) => {
    const p = await Peer.connect(url, subscribe, { clientId: `check-${unique()}` });
    peers.push(p);
    return p;
  };
  beforeAll(async () => {
    brokers = await startBridgedMosquittos();
  }, 30_000);
  afterAll(async () => {
    await Promise.all(peers.map((p) => p.close().catch(() => {})));
    await brokers?.stop();
  });

  test("a message published on either broker arrives once at subscribers on both", async () => {
    const [a, b] = brokers.nodes;
    const topic = `t/${unique()}`;
    const onA = await peer(a.url, [topic]);
    const onB = await peer(b.url, [topic]);
    await onA.publish(topic, "from A");
    await onB.publish(topic, "from B");
    for (const p of [onA, onB]) {
      await p.next(topic, (m) => m === "from A");
      await p.next(topic, (m) => m === "from B");
    }
    // A marker sent after both: once it has arrived everywhere, any echo of the first two would have too.
    await onA.publish(topic, "marker A");
    await onB.publish(topic, "marker B");
    for (const p of [onA, onB]) {
      await p.next(topic, (m) => m === "marker A");
      await p.next(topic, (m) => m === "marker B");
    }
    for (const p of [onA, onB]) {
      expect(
        p.received
          .filter((m) => m.topic === topic)
          .map((m) => m.payload)
          .sort(),
      ).toEqual(["from A", "from B", "marker A", "marker B"]);
    }
  });

  test("a retained message published on A is retained on B too", async () => {
    const [a, b] = brokers.nodes;
    const topic = `r/${unique()}`;
    const live = await peer(b.url, [topic]);
    const publisher = await peer(a.url);
    await publisher.publish(topic, "kept", { retain: true });
    // B stores what the bridge brings before handing it to its subscribers: once the live one has it, B retains it.
    await live.next(topic, (m) => m === "kept");
    const late = await peer(b.url, [topic]);
    expect(await late.next(topic)).toEqual({ topic, payload: "kept", retain: true });
  });

  test("killing either broker leaves the other working, and restarted it is bridged again", async () => {
    const [a, b] = brokers.nodes;
    const topic = `k/${unique()}`;
    for (const [dead, alive] of [
      [a, b],
      [b, a],
    ] as const) {
      await dead.kill();
      const sub = await peer(alive.url, [topic]);
      const pub = await peer(alive.url);
      const payload = `alone on ${alive.port}`;
      await pub.publish(topic, payload);
      expect((await sub.next(topic, (m) => m === payload)).payload).toBe(payload);
      await dead.restart();
      const back = await peer(dead.url);
      const across = `back on ${dead.port}`;
      await back.publish(topic, across);
      expect((await sub.next(topic, (m) => m === across)).payload).toBe(across);
    }
  }, 60_000);
});
