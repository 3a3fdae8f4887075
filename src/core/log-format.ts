import type { DestinationStream } from "pino";
import { allowBlockingCalls } from "./blocking-calls.ts";

const LEVEL_COLOURS: Record<string, string> = {
  fatal: "\x1b[41m",
  error: "\x1b[31m",
  warn: "\x1b[33m",
  info: "\x1b[32m",
  debug: "\x1b[36m",
  trace: "\x1b[90m",
};
const RESET = "\x1b[0m";
const DIM = "\x1b[2m";
const HIDDEN = new Set(["level", "time", "msg", "component", "node", "err"]);

/** One pino JSON line as a person reads it: `07:12:50.588 INFO  [bus] message key=value`. */
export function formatLine(json: string, colour: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json);
  } catch {
    return json;
  }
  const level = String(entry.level ?? "info");
  const time = typeof entry.time === "string" ? entry.time.slice(11, 23) : "";
  const tag = level.toUpperCase().padEnd(5);
  const component = entry.component === undefined ? "" : ` [${String(entry.component)}]`;
  const fields = Object.entries(entry)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  const err = entry.err as { stack?: string; message?: string } | undefined;
  const paint = (code: string, text: string) => (colour ? `${code}${text}${RESET}` : text);
  let out = `${paint(DIM, time)} ${paint(LEVEL_COLOURS[level] ?? "", tag)}${component} ${String(entry.msg ?? "")}`;
  if (fields) out += ` ${paint(DIM, fields)}`;
  if (err?.stack ?? err?.message) out += `\n${err.stack ?? err.message}`;
  return `${out}\n`;
}

/** A destination that writes readable lines to a terminal (stdout, synchronously). */
export function prettyDestination(fd = 1, colour = true): DestinationStream {
  const fs = require("node:fs") as typeof import("node:fs");
  return {
    write(line: string) {
      // Synchronous on purpose, as pino's own destination: no line is lost when the process dies.
      allowBlockingCalls(() => fs.writeSync(fd, formatLine(line, colour)));
    },
  };
}
