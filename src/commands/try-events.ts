/**
 * What `hearth try` shows, one event per line: as text a person reads in a terminal (a frame from the
 * device, then indented what it became), or with --json as one JSON object per line for scripts.
 */
import { clip } from "../core/clip.ts";
import type { EntityValue } from "../entities/entity.ts";
import type { Output } from "./output.ts";

/** One thing `hearth try` saw or did. */
export type TryEvent =
  | { event: "start"; model: string; name: string; protocol: string; port: string; serial: string; poll: string }
  | { event: "link"; state: "open" | "closed" | "unavailable"; reason?: string }
  /** A frame of a text protocol as its driver reads it (its trailing CR dropped). */
  | { event: "line"; text: string }
  /** A frame of a binary protocol (Modbus), in hex. */
  | { event: "frame"; hex: string }
  | { event: "sent"; text?: string; hex?: string }
  /**
   * Entities a reading set, with their values as MQTT would carry them; `held`: kept back by the entity's
   * throttle or deadband; `reply`: read from the reply to a command or poll (shown once the exchange is done,
   * so perhaps after later lines), not from the frame just shown.
   */
  | { event: "set"; values: Record<string, EntityValue>; units?: Record<string, string>; held?: string[]; reply?: true }
  /** A reading its entity refused (out of range, not a number …): the entity kept its last state. */
  | { event: "skipped"; entity: string; value: string; why: string }
  /** A frame the driver skipped, with the driver's reason. */
  | { event: "garbage"; why: string }
  | { event: "hello"; model?: string; version?: string }
  | { event: "note"; level: string; message: string }
  | { event: "poll_failed"; why: string }
  | { event: "availability"; available: boolean; reason?: string }
  | { event: "command"; entity: string; input: string }
  /** A typed command not sent: unknown entity, a value its entity does not take, the device unavailable. */
  | { event: "refused"; input: string; why: string; suggestion?: string }
  /** A command sent that got no good answer (a timeout, the device's error reply). */
  | { event: "failed"; entity: string; input: string; why: string }
  | { event: "help"; commands: Array<{ syntax: string; says: string }>; readOnly: string[] }
  | { event: "stopped" };

/** Longest piece of a frame shown: enough for any sensible line, not a screenful of noise. */
const SHOWN_LENGTH = 200;

/** Text with its control characters (and backslashes) escaped, so every byte the device sent can be seen. */
export function visible(text: string): string {
  return text.replace(/[\\\p{Cc}]/gu, (c) => {
    if (c === "\\") return "\\\\";
    if (c === "\r") return "\\r";
    if (c === "\n") return "\\n";
    if (c === "\t") return "\\t";
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
}

/** Bytes as hex pairs (`01 03 04 …`), clipped. */
export function hexOf(bytes: Uint8Array): string {
  return clip(
    Buffer.from(bytes)
      .toString("hex")
      .replace(/(..)(?!$)/g, "$1 "),
    SHOWN_LENGTH * 3,
  );
}

/** A frame's text for an event: escaped and clipped. */
export function shownText(text: string): string {
  return clip(visible(text), SHOWN_LENGTH);
}

function shownValue(value: EntityValue, unit: string | undefined): string {
  if (value === null) return "unknown";
  if (typeof value === "object" && "latitude" in value) return `${value.latitude},${value.longitude}${value.gps_accuracy === null ? "" : ` ±${value.gps_accuracy} m`}`;
  if (typeof value === "object") return value.brightness === undefined ? value.state : `${value.state} (brightness ${value.brightness})`;
  return unit === undefined ? String(value) : `${value} ${unit}`;
}

/** One event as the line a person reads. */
export function eventText(e: TryEvent): string {
  switch (e.event) {
    case "start":
      return `hearth try: ${e.model} (${e.name}, ${e.protocol} protocol) on ${e.port} at ${e.serial}; ${e.poll}. Type help for the commands; Ctrl-C stops.`;
    case "link":
      return `port ${e.state}${e.reason === undefined ? "" : `: ${e.reason}`}`;
    case "line":
      return `<- ${e.text}`;
    case "frame":
      return `<- ${e.hex}`;
    case "sent":
      return `-> ${e.text ?? e.hex}`;
    case "set": {
      const shown = Object.entries(e.values).map(([key, value]) => `${key} = ${shownValue(value, e.units?.[key])}`);
      const held = e.held === undefined ? "" : ` (held back by throttle or deadband: ${e.held.join(", ")})`;
      return `   ${e.reply ? "reply set" : "set"} ${shown.join(", ")}${held}`;
    }
    case "skipped":
      return `   skipped ${e.entity} = ${e.value}: ${e.why}`;
    case "garbage":
      return `   skipped the line: ${e.why}`;
    case "hello":
      return `   hello: model ${e.model ?? "(not given)"}, version ${e.version ?? "(not given)"}`;
    case "note":
      return `   ${e.level}: ${e.message}`;
    case "poll_failed":
      return `poll failed: ${e.why}`;
    case "availability":
      return e.available ? "device available" : `device unavailable${e.reason === undefined ? "" : `: ${e.reason}`}`;
    case "command":
      return `ok: ${e.input}`;
    case "refused":
      return `refused: ${e.why}`;
    case "failed":
      return `failed: ${e.input}: ${e.why}`;
    case "help": {
      const width = Math.max(...e.commands.map((c) => c.syntax.length));
      const lines = e.commands.map((c) => `  ${c.syntax.padEnd(width)}  ${c.says}`);
      if (e.readOnly.length > 0) lines.push(`  read-only: ${e.readOnly.join(", ")}`);
      return `commands:\n${lines.join("\n")}`;
    }
    case "stopped":
      return "stopped";
  }
}

/** Prints events as text, or as JSON lines. */
export function eventPrinter(output: Output, json: boolean): (e: TryEvent) => void {
  return json ? (e) => output.out(`${JSON.stringify(e)}\n`) : (e) => output.out(`${eventText(e)}\n`);
}
