/**
 * The commands `hearth try` takes on its standard input: `<entity> [value]` in the words a person types
 * (`relay1 ON`, `led ON 128`, `setpoint 21.5`, `restart`), turned into the values MQTT's set topic carries,
 * so the device's own command path (Device.command: the entity's checks, the queue, the timeout) judges them.
 */
import type { EntityDescription } from "../config/entity-description.ts";
import { closest } from "../config/issues.ts";
import { clipJson } from "../core/clip.ts";
import type { TryEvent } from "./try-events.ts";

/** A typed line: help, a poll now, a command for an entity, or a refusal saying why. */
export type TypedLine = { kind: "nothing" } | { kind: "help" } | { kind: "get" } | { kind: "command"; key: string; value: unknown } | { kind: "refused"; why: string; suggestion?: string };

/** Words that are not entities. */
const WORDS = ["help", "get"];

/** The value a typed argument stands for, as MQTT would carry it for an entity of this kind. */
function valueFor(entity: EntityDescription, rest: string): unknown {
  if (rest.startsWith("{")) return JSON.parse(rest); // the JSON a set topic takes, as it is
  const words = rest === "" ? [] : rest.split(/\s+/);
  if (entity.kind === "button") return words.length === 0 ? undefined : rest;
  if (entity.kind === "light") {
    if (words.length === 2) return { state: words[0], brightness: Number(words[1]) };
    if (words.length === 1 && /^\d+$/.test(words[0]!)) return { brightness: Number(words[0]) };
  }
  return rest;
}

/** Reads one typed line against the device's entities. */
export function parseTyped(line: string, entities: ReadonlyMap<string, { description: EntityDescription }>): TypedLine {
  const text = line.trim();
  if (text === "") return { kind: "nothing" };
  const key = text.split(/\s+/, 1)[0]!;
  const rest = text.slice(key.length).trim();
  if (key === "help" || key === "?") return { kind: "help" };
  if (key === "get") return { kind: "get" };
  const entity = entities.get(key);
  if (entity === undefined) {
    const suggestion = closest(key, [...entities.keys(), ...WORDS]);
    const hint = suggestion === undefined ? "" : `; did you mean "${suggestion}"?`;
    return { kind: "refused", why: `no entity ${clipJson(key, 64)}${hint} (help lists the commands)`, ...(suggestion === undefined ? {} : { suggestion }) };
  }
  try {
    return { kind: "command", key, value: valueFor(entity.description, rest) };
  } catch {
    return { kind: "refused", why: `${key}: ${clipJson(rest, 64)} is not valid JSON` };
  }
}

/** The help event: each entity that takes commands with its syntax, and the read-only ones. */
export function helpEvent(entities: Iterable<{ description: EntityDescription }>): Extract<TryEvent, { event: "help" }> {
  const commands: Array<{ syntax: string; says: string }> = [];
  const readOnly: string[] = [];
  for (const { description: d } of entities) {
    switch (d.kind) {
      case "switch":
        commands.push({ syntax: `${d.key} ON|OFF|TOGGLE`, says: "switch it" });
        break;
      case "light":
        commands.push({ syntax: `${d.key} ON [0-255]|OFF|TOGGLE`, says: "switch the light, at a brightness" });
        break;
      case "number":
        commands.push({ syntax: `${d.key} NUMBER`, says: `set it: ${d.min} to ${d.max} in steps of ${d.step}` });
        break;
      case "button":
        commands.push({ syntax: d.key, says: "press it" });
        break;
      default:
        readOnly.push(d.key);
    }
  }
  commands.push({ syntax: "get", says: "poll the device now" }, { syntax: "help", says: "this list" });
  return { event: "help", commands, readOnly };
}
