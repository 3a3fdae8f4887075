import { clip } from "../core/clip.ts";
import type { LoadedConfig } from "./load.ts";
import { baseTopicOf, type Config, clientIdOf, type MqttConfig } from "./schema.ts";

/**
 * Why a reload to `next` is refused, or undefined when it may go ahead. A file that names no devices
 * would remove every device and clear their Home Assistant discovery: that is what an emptied file or one
 * cut short (a crashed editor, a full disk) looks like, so it takes `devices: []` written in the file.
 */
export function reloadRefusal(current: Config, next: LoadedConfig): string | undefined {
  if (current.devices.length === 0 || next.config.devices.length > 0 || next.given.has("devices")) return undefined;
  const ids = clip(current.devices.map((d) => d.id).join(", "));
  const what = next.given.size === 0 ? "the file is empty" : "the file has no devices key (was it cut short?)";
  return `${what}: it would remove every device (${ids}); to remove them all, write "devices: []" in it`;
}

/** What a reload cannot apply while hearth runs: one note per setting that waits for a restart. */
export function restartNotes(current: Config, next: Config): string[] {
  const notes: string[] = [];
  if (next.node_id !== current.node_id) notes.push(`node_id changed (${clip(current.node_id, 64)} → ${clip(next.node_id, 64)}): it takes effect when hearth restarts`);
  const keys = changedMqttKeys(current, next);
  if (keys.length > 0) notes.push(mqttNeedsRestart(keys));
  if (JSON.stringify(next.http) !== JSON.stringify(current.http)) notes.push("http settings changed: they take effect when hearth restarts (the web server keeps its address and sign-in)");
  return notes;
}

/** The note for changed `mqtt:` settings, naming the keys (never their values: a password may be one). */
export function mqttNeedsRestart(keys: readonly string[]): string {
  return `mqtt settings changed (${keys.join(", ")}): they take effect when hearth restarts (the bridge keeps its current connection)`;
}

/**
 * The `mqtt:` keys whose effective value differs. Defaults that hang on the node id (base_topic, client_id)
 * are resolved with the node id in force, since a changed node_id waits for a restart too: an explicit
 * `base_topic: hearth/<node>` and none at all say the same thing.
 */
export function changedMqttKeys(current: Config, next: Config): string[] {
  const a = effective(current.mqtt, current.node_id);
  const b = effective(next.mqtt, current.node_id);
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])] as Array<keyof MqttConfig>;
  return keys.filter((k) => !Bun.deepEquals(a[k], b[k])).sort();
}

function effective(mqtt: MqttConfig, nodeId: string): MqttConfig {
  return { ...mqtt, base_topic: baseTopicOf(mqtt, nodeId), client_id: clientIdOf(mqtt, nodeId) };
}

/** What `config/reload` did; `notes` say what it could not apply (node_id and mqtt settings wait for a restart). */
export type ConfigReloadResult = { ok: true; added: string[]; removed: string[]; reloaded: string[]; notes?: string[] } | { ok: false; problems: string[] };

/** What `device/reload` did: whether the device's entry had changed in the configuration. */
export type DeviceReloadResult = { ok: true; changed: boolean } | { ok: false; problems: string[] };
