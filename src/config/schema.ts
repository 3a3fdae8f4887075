import { hostname } from "node:os";
import { z } from "zod";
import { LOG_LEVELS } from "../core/logger.ts";

const seconds = (what: string) => z.number({ error: `expected ${what} in seconds, a number` }).positive({ error: `expected ${what} in seconds, above 0` });

/** How the executor runs blocking work. */
export const ExecutorSchema = z.strictObject({
  /** Worker threads in the pool; default: one fewer than the cores, at least one. */
  workers: z.int({ error: "expected a whole number of Workers" }).min(1, { error: "expected at least 1 Worker" }).max(64, { error: "expected at most 64 Workers" }).optional(),
});

/** What the loop monitor watches for. */
export const LoopMonitorSchema = z.strictObject({
  /** A callback or task step holding the loop longer than this is logged by name. */
  slow_threshold_ms: z.number().positive().default(100),
  /** Report blocking calls (sync fs, sleepSync, spawnSync) made on the loop thread while running: off, warn, or raise. */
  blocking_calls: z.enum(["off", "warn", "raise"]).default("warn"),
});

/** Seconds each shutdown stage may take. */
export const ShutdownSchema = z.strictObject({
  shutdown_jobs: seconds("a stage timeout").default(30),
  cancel: seconds("a stage timeout").default(10),
  tracked: seconds("a stage timeout").default(30),
  final_write: seconds("a stage timeout").default(30),
  close: seconds("a stage timeout").default(30),
});

/** hearth.yaml. */
export const ConfigSchema = z.strictObject({
  /** Names this board in MQTT topics; default: the hostname. */
  node_id: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, { error: "expected letters, digits, - or _ only (it is used in MQTT topics)" })
    .default(() => sanitizeHostname(hostname())),
  log_level: z.enum(LOG_LEVELS).default("info"),
  /** Seconds start-up waits for devices to set up before going on without the slow ones. */
  start_timeout: seconds("the start timeout").default(300),
  executor: ExecutorSchema.default({}),
  loop_monitor: LoopMonitorSchema.default({ slow_threshold_ms: 100, blocking_calls: "warn" }),
  shutdown: ShutdownSchema.default({ shutdown_jobs: 30, cancel: 10, tracked: 30, final_write: 30, close: 30 }),
});

/** A loaded, validated configuration with every default filled in. */
export type Config = z.infer<typeof ConfigSchema>;

/** A hostname made safe for a topic segment (`pi.local` → `pi-local`). */
export function sanitizeHostname(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "") || "hearth";
}
