/**
 * `npm run bench -- console`: what the web console's live feed costs. hearth runs as its own process
 * with 50 simulated hearth-io boards reporting at 1 Hz (hearth-fleet.ts) on a real Mosquitto; 20 plain
 * WebSocket clients in this process open `/ws` (with the Origin the server requires) and count what
 * they are sent. hearth's CPU, read from /proc, over windows with the 20 clients, against the limit:
 * the same hearth over windows of the same length with none, alternated in the same run. The loop's
 * lag comes from /metrics' `hearth_loop_lag_seconds`, scraped at each window's start and end (in both
 * conditions alike), the difference being that window's ticks.
 */

import type { Subprocess } from "bun";
import { alternatedCpu, mean, percentile, round, startHearthFleet, windowMs } from "./hearth-fleet.ts";
import { type BenchResult, compared } from "./result.ts";

const DEVICES = 50;
const CLIENTS = 20;
/** Windows of each kind: without clients and with them, alternated. */
const ROUNDS = 2;
/** The goals: CPU with the clients at most 1.5× without, loop lag p99 under 5 ms. */
const CPU_GOAL = 1.5;
const LAG_GOAL_MS = 5;

type Condition = "no client" | "clients";

/** hearth's loop monitor ticks every slow_threshold_ms / 4: 25 ms with the default 100 ms. */
const TICK_MS = 25;
/**
 * The limit for the lag: a bare Bun process ticking as hearth's loop monitor does, doing nothing else,
 * that prints each tick's lag (ms) on a line. Run beside hearth for the whole run, it shows how late the
 * machine itself wakes a loop (other processes on the same cores), which no change to hearth can remove.
 */
const BARE_LOOP = `let last = performance.now(); setInterval(() => { const now = performance.now(); console.log(Math.max(0, now - last - ${TICK_MS})); last = now; }, ${TICK_MS});`;

/** Starts the bare loop; `lags` collects its ticks' lags, ms, as they come. */
function startBareLoop(lags: number[]): Subprocess<"ignore", "pipe", "inherit"> {
  const bare = Bun.spawn([process.execPath, "-e", BARE_LOOP], { stdin: "ignore", stdout: "pipe", stderr: "inherit" });
  void (async () => {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of bare.stdout) {
      pending += decoder.decode(chunk, { stream: true });
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) if (line !== "") lags.push(Number(line));
    }
  })();
  return bare;
}

/** One console page's socket, reduced to what the bench needs: how many messages it was sent. */
interface Client {
  socket: WebSocket;
  messages: number;
  /** Device snapshots in those messages (one message carries every device that changed in a tick). */
  devices: number;
}

/** Opens `count` sockets to /ws and resolves once each has been sent its first message (the overview on open). */
async function openClients(base: URL, count: number): Promise<Client[]> {
  const url = new URL("/ws", base);
  url.protocol = "ws:";
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Client>((resolve, reject) => {
          // The server refuses a WebSocket whose Origin is not the Host it was sent to (a browser sends both).
          const socket = new WebSocket(url.href, { headers: { Origin: base.origin } });
          const client: Client = { socket, messages: 0, devices: 0 };
          const timer = setTimeout(() => reject(new Error(`no message on ${url.href} within 10 s`)), 10_000);
          socket.onmessage = (event) => {
            client.messages++;
            const message = JSON.parse(String(event.data)) as { type: string; devices?: unknown[] };
            if (message.type === "devices") client.devices += message.devices?.length ?? 0;
            clearTimeout(timer);
            resolve(client);
          };
          socket.onerror = () => reject(new Error(`WebSocket to ${url.href} failed`));
          socket.onclose = (event) => reject(new Error(`WebSocket to ${url.href} closed (${event.code}) before a message`));
        }),
    ),
  );
}

async function closeClients(clients: Client[]): Promise<void> {
  await Promise.all(
    clients.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.socket.readyState === WebSocket.CLOSED) return resolve();
          c.socket.onclose = () => resolve();
          c.socket.onerror = null;
          c.socket.close();
        }),
    ),
  );
}

/** The lag histogram's cumulative bucket counts, by upper bound in seconds (`+Inf` last). */
async function lagBuckets(metrics: URL): Promise<Map<number, number>> {
  const text = await (await fetch(metrics)).text();
  const buckets = new Map<number, number>();
  for (const match of text.matchAll(/^hearth_loop_lag_seconds_bucket\{le="([^"]+)"\} (\S+)$/gm)) {
    buckets.set(match[1] === "+Inf" ? Number.POSITIVE_INFINITY : Number(match[1]), Number(match[2]));
  }
  if (buckets.size === 0) throw new Error("no hearth_loop_lag_seconds in /metrics");
  return buckets;
}

/** Adds the ticks between two scrapes of the lag histogram to `into` (cumulative counts by bound). */
function addTicks(into: Map<number, number>, before: Map<number, number>, after: Map<number, number>): void {
  for (const [bound, count] of after) into.set(bound, (into.get(bound) ?? 0) + count - (before.get(bound) ?? 0));
}

/**
 * The p-th percentile of the ticks in cumulative bucket counts, ms: linearly interpolated within its
 * bucket, as Prometheus's histogram_quantile does (the buckets are 1 ms, 5 ms, 10 ms, …, so the figure
 * is an estimate within its bucket, not a measured tick).
 */
function lagPercentileMs(ticks: Map<number, number>, p: number): number {
  const bounds = [...ticks.keys()].sort((a, b) => a - b);
  const cumulative = bounds.map((b) => ticks.get(b) ?? 0);
  const total = cumulative[cumulative.length - 1] ?? 0;
  if (total === 0) return Number.NaN;
  const rank = (p / 100) * total;
  for (let i = 0; i < bounds.length; i++) {
    if (cumulative[i]! < rank) continue;
    const upper = bounds[i]!;
    const lower = i === 0 ? 0 : bounds[i - 1]!;
    // Above the last finite bound there is nothing to interpolate to: that bound is all that is known.
    if (!Number.isFinite(upper)) return lower * 1000;
    const below = i === 0 ? 0 : cumulative[i - 1]!;
    const inBucket = cumulative[i]! - below;
    return (lower + (upper - lower) * ((rank - below) / inBucket)) * 1000;
  }
  return Number.NaN;
}

export async function run(): Promise<BenchResult[]> {
  const fleet = await startHearthFleet({ devices: DEVICES, name: "console" });
  const bareLags: number[] = [];
  const bare = startBareLoop(bareLags);
  const metrics = new URL("/metrics", fleet.baseUrl);
  let clients: Client[] = [];
  /** Each condition's loop ticks, all its windows together. */
  const ticks: Record<Condition, Map<number, number>> = { "no client": new Map(), clients: new Map() };
  /** Messages, and device snapshots, per client per second: one figure per window with clients. */
  const rates: number[] = [];
  const deviceRates: number[] = [];
  try {
    let startBuckets = new Map<number, number>();
    let started = 0;
    const shares = await alternatedCpu(
      fleet.pid,
      { rounds: ROUNDS, windowMs: windowMs(15), conditions: ["no client", "clients"] as const },
      {
        enter: async (condition) => {
          if (condition === "clients") {
            clients = await openClients(fleet.baseUrl, CLIENTS);
            await Bun.sleep(1000); // past the snapshots sent on open
          }
          for (const c of clients) c.messages = c.devices = 0;
          startBuckets = await lagBuckets(metrics);
          started = performance.now();
        },
        during: async (_condition, deadline) => {
          await Bun.sleep(Math.max(0, deadline - performance.now()));
        },
        leave: async (condition) => {
          const seconds = (performance.now() - started) / 1000;
          addTicks(ticks[condition], startBuckets, await lagBuckets(metrics));
          if (condition !== "clients") return;
          const received = clients.map((c) => c.messages);
          if (received.some((n) => n === 0)) throw new Error(`a console client received no update in ${seconds.toFixed(0)} s (${received.join(", ")})`);
          rates.push(mean(received) / seconds);
          deviceRates.push(mean(clients.map((c) => c.devices)) / seconds);
          await closeClients(clients);
          clients = [];
        },
      },
    );
    const label = `${DEVICES} devices at 1 Hz, ${CLIENTS} console clients on /ws`;
    const lagWith = lagPercentileMs(ticks.clients, 99);
    const lagWithout = lagPercentileMs(ticks["no client"], 99);
    return [
      compared({
        name: `${label}: hearth CPU (its simulators included)`,
        value: round(mean(shares.clients)),
        unit: "% of a core",
        limit: { name: "the same hearth with no client", value: round(mean(shares["no client"])) },
        goal: CPU_GOAL,
      }),
      compared({
        name: `${label}: loop lag p99 (hearth_loop_lag_seconds over its windows, interpolated in the bucket)`,
        value: round(lagWith, 3),
        unit: "ms",
        limit: { name: "the goal", value: LAG_GOAL_MS },
        goal: 1,
      }),
      { name: `${DEVICES} devices at 1 Hz, no console client: loop lag p99 (as above)`, value: round(lagWithout, 3), unit: "ms" },
      {
        name: `a bare Bun loop ticking every ${TICK_MS} ms beside them, the whole run: lag p99 (the machine's own)`,
        value: round(
          percentile(
            bareLags.sort((a, b) => a - b),
            99,
          ),
          3,
        ),
        unit: "ms",
      },
      { name: `${label}: messages received per client`, value: round(mean(rates)), unit: "msgs/s" },
      { name: `${label}: device snapshots in them per client`, value: round(mean(deviceRates)), unit: "devices/s" },
    ];
  } finally {
    await closeClients(clients);
    bare.kill();
    await bare.exited;
    await fleet.stop();
  }
}
