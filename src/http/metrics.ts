/**
 * GET /metrics: hearth's figures in the Prometheus text format, by Prometheus's conventions (the `hearth_`
 * prefix, `_total` on counters, seconds and bytes), plus the standard `process_` ones. Everything is read
 * when scraped, from counters its owners keep anyway: a scrape costs a walk over the devices, nothing
 * between scrapes.
 */
import type { ExecutorStats } from "../core/executor/executor.ts";
import type { HistogramSnapshot } from "../core/histogram.ts";
import type { LoopLagMetrics, LoopStats } from "../core/loop-monitor.ts";
import type { DeviceStats, DeviceViews } from "../engine/device-view.ts";
import { Exposition, type Sample } from "./exposition.ts";

/** What the MQTT bridge counts, as the composition root hands it over (the web server never imports MQTT). */
export interface MqttFigures {
  connected: boolean;
  /** The broker's URL without credentials (the console shows it). */
  url: string;
  connects: number;
  received: number;
  published: number;
  /** Inbound messages refused unread (too large) and refused as invalid. */
  refused: number;
  invalid: number;
  outboxQueued: number;
  outboxDropped: number;
  outboxSetAside: number;
}

/** The executor's figures, once the hub has made it. */
export interface ExecutorFigures {
  stats: ExecutorStats;
  latency: HistogramSnapshot;
}

/** Where a scrape reads its figures from. */
export interface MetricsSources {
  devices: DeviceViews;
  loop: () => LoopStats & LoopLagMetrics;
  /** Undefined while no job has needed the executor. */
  executor: () => ExecutorFigures | undefined;
  /** Undefined before the bridge has started. */
  mqtt: () => MqttFigures | undefined;
  version: string;
  nodeId: string;
}

const EMPTY_HISTOGRAM: HistogramSnapshot = { bounds: [], counts: [0], sum: 0, count: 0 };

/** When this process started, seconds since the epoch (fixed, so read once). */
const processStart = (Date.now() - process.uptime() * 1000) / 1000;

/** The counters a device family exposes: its metric name, help and the stat it reads. */
const DEVICE_COUNTERS: ReadonlyArray<[name: string, help: string, stat: (s: DeviceStats) => number]> = [
  ["hearth_device_frames_total", "Frames the device's transport handed it (on a shared bus, the bus's).", (s) => s.frames],
  ["hearth_device_received_bytes_total", "Bytes of those frames, framing removed.", (s) => s.bytes],
  ["hearth_device_parse_errors_total", "Frames that made no sense to the driver (checksum failures included), skipped.", (s) => s.garbage],
  ["hearth_device_checksum_failures_total", "Frames whose checksum was wrong, where the driver tells them apart (line protocols).", (s) => s.checksumFailures],
  ["hearth_device_bad_values_total", "Readings not fit for their entity (not a number, out of the model's range), skipped.", (s) => s.badValues],
  ["hearth_device_oversized_frames_total", "Frames skipped for being longer than the framing allows.", (s) => s.tooLong],
  ["hearth_device_polls_total", "Polls started.", (s) => s.polls],
  ["hearth_device_poll_failures_total", "Polls that failed or got no answer.", (s) => s.pollFailures],
  ["hearth_device_commands_total", "Commands accepted for the device.", (s) => s.commands],
  ["hearth_device_command_failures_total", "Commands that failed (an error reply, a timeout, the device gone unavailable).", (s) => s.commandFailures],
  ["hearth_device_commands_refused_total", "Commands and gets refused because the device's queue was full.", (s) => s.refused],
  ["hearth_device_timeouts_total", "Exchanges (commands and polls) that got no reply within the timeout.", (s) => s.timeouts],
  ["hearth_device_reboots_total", "Times the device said it (re)booted.", (s) => s.reboots],
  ["hearth_device_reconnects_total", "Times the device's link opened again after having been open.", (s) => s.reconnects],
];

/** One scrape's text. */
export function renderMetrics(sources: MetricsSources): string {
  const out = new Exposition();
  out.gauge("hearth_info", "Always 1; the labels say which hearth this is.", [{ labels: { version: sources.version, node: sources.nodeId }, value: 1 }]);
  const devices = sources.devices.list();
  const labelsOf = (d: { id: string; model: string }) => ({ device: d.id, model: d.model });
  out.gauge(
    "hearth_device_available",
    "1 while the device is available (answering, or its frames keep coming), else 0.",
    devices.map((d) => ({ labels: labelsOf(d), value: d.available ? 1 : 0 })),
  );
  out.gauge(
    "hearth_device_running",
    "1 while the device is set up and running, else 0 (its counters start again from 0 at each set-up).",
    devices.map((d) => ({ labels: labelsOf(d), value: d.running ? 1 : 0 })),
  );
  const running = devices.flatMap((d) => (d.stats === undefined ? [] : [{ labels: labelsOf(d), stats: d.stats }]));
  for (const [name, help, stat] of DEVICE_COUNTERS)
    out.counter(
      name,
      help,
      running.map(({ labels, stats }) => ({ labels, value: stat(stats) })),
    );
  out.histogram(
    "hearth_device_command_duration_seconds",
    "How long each command took, accepted to done (answered, failed or timed out).",
    running.map(({ labels, stats }) => ({ labels, histogram: stats.commandSeconds })),
  );

  const loop = sources.loop();
  out.histogram("hearth_loop_lag_seconds", "How late each tick of the loop monitor came: the event loop's lag.", [{ histogram: loop.lag }]);
  out.counter("hearth_loop_blocked_total", "Times the event loop was held longer than loop_monitor.slow_threshold_ms.", [{ value: loop.blocked }]);
  out.counter("hearth_loop_blocked_seconds_total", "About how long the event loop was held in those times, in all.", [{ value: loop.heldSeconds }]);
  out.counter("hearth_loop_blocking_calls_total", "Blocking calls (sync fs, sleepSync, spawnSync) seen on the event loop.", [{ value: loop.blockingCalls }]);

  const executor = sources.executor();
  const ex = executor?.stats;
  const one = (value: number | undefined): Sample[] => [{ value: value ?? 0 }];
  out.gauge("hearth_executor_workers", "Worker threads in the executor's pool now.", one(ex?.workers));
  out.gauge("hearth_executor_max_workers", "Worker threads the pool may start.", one(ex?.maxWorkers));
  out.gauge("hearth_executor_dedicated_workers", "Dedicated Workers running a loop of their own (serial readers).", one(ex?.dedicated));
  out.gauge("hearth_executor_queued_jobs", "Jobs waiting for a Worker.", one(ex?.queued));
  out.gauge("hearth_executor_running_jobs", "Jobs running on a Worker now.", one(ex?.running));
  out.counter("hearth_executor_jobs_completed_total", "Jobs that completed.", one(ex?.completed));
  out.counter("hearth_executor_jobs_failed_total", "Jobs that failed (their error, their Worker's death).", one(ex?.failed));
  out.counter("hearth_executor_jobs_timed_out_total", "Jobs that ran past their timeout (their Worker was terminated).", one(ex?.timedOut));
  out.counter("hearth_executor_jobs_aborted_total", "Jobs their caller gave up on.", one(ex?.aborted));
  out.histogram("hearth_executor_job_duration_seconds", "Submit to settle of each job that completed or failed.", [{ histogram: executor?.latency ?? EMPTY_HISTOGRAM }]);

  const mqtt = sources.mqtt();
  out.gauge("hearth_mqtt_connected", "1 while connected to the MQTT broker, else 0.", [{ value: mqtt?.connected ? 1 : 0 }]);
  out.counter("hearth_mqtt_connects_total", "Connections made to the broker.", one(mqtt?.connects));
  out.counter("hearth_mqtt_messages_received_total", "Messages received from the broker.", one(mqtt?.received));
  out.counter("hearth_mqtt_messages_published_total", "Messages published to the broker.", one(mqtt?.published));
  out.counter("hearth_mqtt_inbound_refused_total", "Inbound messages refused unread for their size.", one(mqtt?.refused));
  out.counter("hearth_mqtt_inbound_invalid_total", "Inbound messages refused as invalid.", one(mqtt?.invalid));
  out.gauge("hearth_mqtt_outbox_messages", "Events and replies waiting in the outbox for the broker.", one(mqtt?.outboxQueued));
  out.counter("hearth_mqtt_outbox_dropped_total", "Messages lost because the outbox (or its set-aside messages) was full.", one(mqtt?.outboxDropped));
  out.gauge("hearth_mqtt_outbox_set_aside_messages", "Messages the broker would not take, kept apart and not delivered.", one(mqtt?.outboxSetAside));

  const cpu = process.cpuUsage();
  out.gauge("process_resident_memory_bytes", "Resident memory size in bytes.", [{ value: process.memoryUsage.rss() }]);
  out.counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", [{ value: (cpu.user + cpu.system) / 1e6 }]);
  out.gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", [{ value: processStart }]);
  return out.text();
}
