import pino, { type DestinationStream, type Level, type Logger } from "pino";
import { prettyDestination } from "./log-format.ts";
import type { LogRing } from "./log-ring.ts";

export type { DestinationStream, Logger } from "pino";

/** Log levels hearth accepts in its configuration and over MQTT. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; stdout (synchronously, so nothing is lost at exit) when omitted. */
  destination?: DestinationStream;
  /** Fields added to every line (node id, …). */
  base?: Record<string, unknown>;
  /** Also given every line written (redacted, as the destination gets it): the web console's log page keeps the last ones (log-ring.ts). */
  tee?: LogRing;
}

/**
 * The root logger of a hearth process; components take children of it (`log.child({ component })`).
 * JSON lines by default (for journald and log shippers); readable lines on a terminal, or whenever
 * HEARTH_LOG_FORMAT=pretty (HEARTH_LOG_FORMAT=json forces JSON).
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const format = process.env.HEARTH_LOG_FORMAT ?? (process.stdout.isTTY ? "pretty" : "json");
  const written = options.destination ?? (format === "pretty" ? prettyDestination(1, process.stdout.isTTY === true) : pino.destination({ dest: 1, sync: true }));
  const destination = options.tee === undefined ? written : teed(written, options.tee);
  return pino(
    {
      level: options.level ?? "info",
      base: options.base ?? null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err },
      // Secrets never reach a log line, whatever object carries them.
      redact: { paths: ["password", "*.password", "mqtt.password", "*.mqtt.password", "token", "*.token"], censor: "***" },
    },
    destination,
  );
}

/** `destination` that also hands each line to `ring`, after the destination has it, so the line is written whatever the ring does. */
function teed(destination: DestinationStream, ring: LogRing): DestinationStream {
  return {
    write(line: string) {
      destination.write(line);
      ring.push(line);
    },
  };
}

/** A logger that drops everything: the default for a Hub built without one (tests, benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

/** A destination that keeps each line as parsed JSON, for tests to read what was logged. */
export class MemoryLogDestination implements DestinationStream {
  readonly lines: Array<Record<string, unknown> & { level: Level; msg?: string }> = [];

  write(line: string): void {
    this.lines.push(JSON.parse(line));
  }

  /** Lines whose message contains `text`. */
  find(text: string): Array<Record<string, unknown> & { level: Level; msg?: string }> {
    return this.lines.filter((l) => typeof l.msg === "string" && l.msg.includes(text));
  }
}
