import { HearthError } from "../../core/errors.ts";
import type { DeviceErrorCode } from "../device-error.ts";

/** Parses `key=value key=value` (single spaces; a value has no spaces). Pairs without `=` are skipped. */
export function parseFields(text: string | undefined): Map<string, string> {
  const fields = new Map<string, string>();
  if (text === undefined) return fields;
  for (const pair of text.trim().split(/\s+/)) {
    const eq = pair.indexOf("=");
    if (eq > 0) fields.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return fields;
}

/** Fills `{name}` placeholders; an unknown name is an error in the device definition, said so. */
export function fillTemplate(template: string, values: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{([a-z_]+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) {
      throw new HearthError<DeviceErrorCode>("DEVICE_DEFINITION_INVALID", `template "${template}" uses {${name}}, which this command does not provide`);
    }
    return String(value);
  });
}
