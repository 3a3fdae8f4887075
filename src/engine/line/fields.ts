import { HearthError } from "../../core/errors.ts";
import type { DeviceErrorCode } from "../device-error.ts";

/** Fills `{name}` placeholders; an unknown name is an error in the device definition, said so (the schema refuses most before). */
export function fillTemplate(template: string, values: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{([a-z_]+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) {
      throw new HearthError<DeviceErrorCode>("DEVICE_DEFINITION_INVALID", `template "${template}" uses {${name}}, which this command does not provide`);
    }
    return String(value);
  });
}
