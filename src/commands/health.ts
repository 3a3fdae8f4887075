import type { Config } from "../config/schema.ts";
import { HearthError } from "../core/errors.ts";
import { bridgeRequest } from "./bridge-request.ts";
import type { Output } from "./output.ts";

/**
 * Exit codes of `hearth health`: 0 healthy, 1 running but unhealthy, 3 no answer (not running, or no
 * broker), 4 starting (a device is not up yet, within its start-up grace: not healthy either).
 */
export const HEALTH_EXIT = { healthy: 0, unhealthy: 1, noAnswer: 3, starting: 4 } as const;

/** What `hearth health` reads of the reply's data (older hearths send no `status`: `healthy` decides). */
interface HealthData {
  healthy?: boolean;
  status?: string;
  uptime_s?: number;
  version?: string;
  mqtt?: { queued?: number };
  devices?: Record<string, { state: string; available: boolean; problem?: string }>;
}

/**
 * `hearth health`: asks the running hearth over MQTT (`bridge/request/health`) and prints its answer,
 * for a systemd watchdog, a Docker HEALTHCHECK or a person at the console.
 */
export async function healthCommand(config: Config, output: Output, options: { json?: boolean; timeoutMs?: number; graceS?: number } = {}): Promise<number> {
  try {
    const body = options.graceS === undefined ? {} : { grace: options.graceS };
    const reply = await bridgeRequest(config, "health", body, { timeoutMs: options.timeoutMs ?? 5000 });
    if (reply.status === "error") throw new HearthError("HEALTH_REFUSED", `hearth refused the health request: ${String(reply.error)}`);
    const data = (reply.data ?? {}) as HealthData;
    const status = data.healthy ? "healthy" : data.status === "starting" ? "starting" : "unhealthy";
    if (options.json) output.out(`${JSON.stringify(reply.data, null, 2)}\n`);
    else {
      const verdict = { healthy: "healthy", starting: "starting (not healthy yet)", unhealthy: "UNHEALTHY" }[status];
      const lines = [`hearth ${data.version ?? "?"} on ${config.node_id}: ${verdict}, up ${data.uptime_s ?? "?"} s, ${data.mqtt?.queued ?? 0} message(s) queued`];
      for (const [id, d] of Object.entries(data.devices ?? {})) lines.push(`  ${id.padEnd(20)} ${d.available && d.problem === undefined ? "available" : (d.problem ?? `unavailable (${d.state})`)}`);
      output.out(`${lines.join("\n")}\n`);
    }
    return HEALTH_EXIT[status];
  } catch (err) {
    output.err(`hearth health: ${(err as Error).message}\n`);
    return HEALTH_EXIT.noAnswer;
  }
}
