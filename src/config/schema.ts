import { hostname } from "node:os";
import { z } from "zod";
import { LOG_LEVELS } from "../core/logger.ts";
import { BaudSchema } from "./device-definition.ts";

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

/** A device id: used in MQTT topics and entity ids, so it must be safe in both. */
export const DeviceIdSchema = z
  .string({ error: "expected a text id" })
  .min(1, { error: "expected a non-empty id" })
  .max(64, { error: "expected at most 64 characters" })
  .superRefine((id, ctx) => {
    if (/[+#/]/.test(id)) ctx.addIssue({ code: "custom", message: "must not contain +, # or / (MQTT wildcards and topic separators)" });
    else if (id.startsWith("$")) ctx.addIssue({ code: "custom", message: "must not start with $ (topics starting with $ belong to the broker)" });
    else if (/[\s\p{Cc}]/u.test(id)) ctx.addIssue({ code: "custom", message: "must not contain spaces or control characters" });
    // Home Assistant's discovery topic matcher takes only these in a node or object id: a device whose
    // id has a dot or a letter such as ä is ignored by it, silently, so it is refused here.
    else if (!/^[A-Za-z0-9_-]+$/.test(id))
      ctx.addIssue({ code: "custom", message: "expected letters A-Z a-z, digits, - or _ only (Home Assistant's discovery ignores a device whose id has a dot or a letter such as ä)" });
  });

/** One device in hearth.yaml. */
export const DeviceConfigSchema = z.strictObject({
  id: DeviceIdSchema,
  /** A model from `hearth devices`. */
  model: z.string({ error: "expected a model name (see `hearth devices`)" }).min(1),
  /** A tty path (`/dev/serial/by-id/…`), or `sim` for the model's simulator on a pseudo-terminal. */
  port: z.string({ error: "expected a serial port path or sim" }).min(1),
  name: z.string().min(1).optional(),
  /** Where the device is (Home Assistant's suggested area for it: "Kitchen"). */
  area: z.string().min(1).optional(),
  /** Overrides the model's baud rate. */
  baud: BaudSchema.optional(),
  /** Model-specific settings (a Modbus slave address, registers, …). */
  options: z.record(z.string(), z.unknown()).default({}),
  /** Seconds between polls; the model's default otherwise. */
  poll_interval: seconds("the poll interval").optional(),
  /** Seconds a command waits for its reply; the model's default otherwise. */
  timeout: seconds("the command timeout").optional(),
});
export type DeviceConfig = z.infer<typeof DeviceConfigSchema>;

/** One broker URL (also `hearth fleet --broker`'s). */
export const BrokerUrlSchema = z
  .string({ error: "expected a broker URL such as mqtt://host:1883 or mqtts://host:8883" })
  .regex(/^(mqtts?|wss?|tcp|ssl):\/\/[^\s]+$/, { error: "expected a broker URL such as mqtt://host:1883 or mqtts://host:8883" });

/** How hearth reaches MQTT; without `url` it runs an embedded broker on 127.0.0.1. */
export const MqttSchema = z.strictObject({
  /** One broker, or the nodes of one cluster: hearth is on one at a time and goes round the list when it loses it. */
  url: z
    .union([
      BrokerUrlSchema,
      z
        .array(BrokerUrlSchema)
        .min(1, { error: "expected at least one broker URL" })
        .refine((urls) => new Set(urls).size === urls.length, { error: "a broker URL is listed twice" }),
    ])
    .optional(),
  /** Topic prefix; default hearth/<node_id>. */
  base_topic: z
    .string()
    .regex(/^[^+#$][^+#]*[^/+#]$|^[^+#$/]$/, { error: "expected a topic without wildcards, not starting with $ or ending with /" })
    .optional(),
  username: z.string().optional(),
  /** Better kept out of the file: use password_file or the HEARTH_MQTT_PASSWORD environment variable. */
  password: z.string().optional(),
  password_file: z.string().optional(),
  client_id: z.string().min(1).max(128).optional(),
  protocol_version: z.union([z.literal(4), z.literal(5)]).default(4),
  keepalive: z.int().min(5).max(3600).default(60),
  tls: z
    .strictObject({
      ca: z.string().optional(),
      cert: z.string().optional(),
      key: z.string().optional(),
      /** Check the broker's certificate (turn off only for testing). */
      verify: z.boolean().default(true),
    })
    .optional(),
  discovery: z
    .strictObject({
      enabled: z.boolean().default(true),
      prefix: z.string().min(1).default("homeassistant"),
      /** `device`: one config per device (Home Assistant's device discovery); `entity`: one per entity. */
      mode: z.enum(["device", "entity"]).default("device"),
    })
    .prefault({}),
  /** Inbound payloads larger than this many bytes are refused unread. */
  max_payload: z
    .int()
    .min(256)
    .max(1 << 20)
    .default(65536),
});
export type MqttConfig = z.infer<typeof MqttSchema>;

/** `host:port` of an HTTP listener: a name or IPv4 address, or an IPv6 address in brackets; port 0 picks a free one. */
export function parseListen(listen: string): { hostname: string; port: number } | undefined {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(listen);
  if (match === null) return undefined;
  const port = Number(match[2]);
  if (port > 65535) return undefined;
  return { hostname: match[1]!.replace(/^\[|\]$/g, ""), port };
}

/** Whether a listener's host is this machine only (127.0.0.0/8, ::1, localhost): nobody else can reach it. */
export function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * The web console and /metrics, served by hearth itself (src/http/). Without this section in a file no
 * port is opened; the embedded defaults have it (`http: {}`), so `npm start` shows the console.
 */
export const HttpSchema = z
  .strictObject({
    listen: z
      .string({ error: "expected host:port, such as 127.0.0.1:8099" })
      .refine((listen) => parseListen(listen) !== undefined, { error: "expected host:port, such as 127.0.0.1:8099 or [::1]:8099 (a port up to 65535)" })
      .default("127.0.0.1:8099"),
    /**
     * Sign-in with one user and a password, required when `listen` is not a loopback address. The password
     * comes from the HEARTH_HTTP_PASSWORD environment variable or the first line of `password_file`, never
     * from this file.
     */
    auth: z
      .strictObject({
        username: z.string().min(1).max(64).default("hearth"),
        password_file: z.string({ error: "expected a file path" }).min(1).optional(),
      })
      .optional(),
  })
  .superRefine((http, ctx) => {
    const address = parseListen(http.listen);
    if (address === undefined || isLoopback(address.hostname) || http.auth !== undefined) return;
    ctx.addIssue({
      code: "custom",
      path: ["auth"],
      message: `required when listen (${http.listen}) is not a loopback address: add auth with a password_file, or the HEARTH_HTTP_PASSWORD environment variable`,
    });
  });
export type HttpConfig = z.infer<typeof HttpSchema>;

/** hearth.yaml. */
export const ConfigSchema = z.strictObject({
  /** Names this board in MQTT topics; default: the hostname. */
  node_id: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, { error: "expected letters, digits, - or _ only (it is used in MQTT topics)" })
    .default(() => sanitizeHostname(hostname())),
  log_level: z.enum(LOG_LEVELS).default("info"),
  /** Log every change of a device entity's state at info level (handy when trying hearth out). */
  log_states: z.boolean().default(false),
  /** Seconds start-up waits for devices to set up before going on without the slow ones. */
  start_timeout: seconds("the start timeout").default(300),
  // A missing section is parsed as an empty one (prefault), so its defaults are those its own schema
  // fills in, written once: a reload of a file without `mqtt:` compares like one with `mqtt: {}`.
  executor: ExecutorSchema.prefault({}),
  loop_monitor: LoopMonitorSchema.prefault({}),
  shutdown: ShutdownSchema.prefault({}),
  mqtt: MqttSchema.prefault({}),
  /** Left out: no HTTP server (unlike the sections above, absent is not the same as empty). */
  http: HttpSchema.optional(),
  /**
   * Folders of model files (one `*.yaml` per model), relative to this file. Left out: `models/` beside it,
   * if there is one. Read by src/config/model-files.ts; left undefined here, since a folder named in the
   * file must exist and the default need not.
   */
  models: z.array(z.string({ error: "expected a folder path" }).min(1, { error: "expected a folder path" }), { error: "expected a list of folder paths" }).optional(),
  // Duplicate ids and unknown models are checked across the entries in load.ts, beside this schema.
  devices: z.array(DeviceConfigSchema).default([]),
});

/** The topic prefix in force: `mqtt.base_topic`, else hearth/<node_id>. */
export function baseTopicOf(mqtt: MqttConfig, nodeId: string): string {
  return mqtt.base_topic ?? `hearth/${nodeId}`;
}

/** The broker URLs configured, in the order hearth tries them; none means the embedded broker. */
export function brokerUrlsOf(mqtt: MqttConfig): string[] {
  if (mqtt.url === undefined) return [];
  return typeof mqtt.url === "string" ? [mqtt.url] : [...mqtt.url];
}

/** The MQTT client id in force: `mqtt.client_id`, else hearth_<node_id>. */
export function clientIdOf(mqtt: MqttConfig, nodeId: string): string {
  return mqtt.client_id ?? `hearth_${nodeId}`;
}

/** A loaded, validated configuration with every default filled in. */
export type Config = z.infer<typeof ConfigSchema>;

/** A hostname made safe for a topic segment (`pi.local` → `pi-local`). */
export function sanitizeHostname(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "") || "hearth";
}
