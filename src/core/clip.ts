/** The most characters of an outside value (a payload, a line from a device) quoted in a log line or a reply. */
export const CLIP_LENGTH = 120;

/**
 * `text` cut to `max` characters, with how much was cut said at the end, for quoting input hearth did not
 * choose (a 64 KiB value must not make a 64 KiB log line or an MQTT reply the broker refuses).
 */
export function clip(text: string, max = CLIP_LENGTH): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

/** `value` as JSON, clipped: for quoting a parsed value back. */
export function clipJson(value: unknown, max = CLIP_LENGTH): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return clip(text, max);
}
