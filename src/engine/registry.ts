import { DEFINITION_SOURCES } from "../../devices/index.ts";
import { type DeviceDefinition, DeviceDefinitionSchema } from "../config/device-definition.ts";
import { formatIssues } from "../config/issues.ts";
import { HearthError } from "../core/errors.ts";

let cache: Map<string, DeviceDefinition> | undefined;

/** Every known model's definition, validated once; a broken definition is a bug in hearth, reported with its path. */
export function deviceDefinitions(): ReadonlyMap<string, DeviceDefinition> {
  if (cache !== undefined) return cache;
  const out = new Map<string, DeviceDefinition>();
  for (const [model, source] of Object.entries(DEFINITION_SOURCES)) {
    const parsed = DeviceDefinitionSchema.safeParse(source);
    if (!parsed.success) {
      const problems = formatIssues(parsed.error.issues, { schema: DeviceDefinitionSchema, input: source });
      throw new HearthError("DEVICE_DEFINITION_INVALID", `devices/${model}/device.yaml: ${problems.join("; ")}`);
    }
    if (parsed.data.model !== model) {
      throw new HearthError("DEVICE_DEFINITION_INVALID", `devices/${model}/device.yaml: model: expected "${model}", got "${parsed.data.model}"`);
    }
    out.set(model, parsed.data);
  }
  cache = out;
  return out;
}

/** One model's definition, or undefined. */
export function deviceDefinition(model: string): DeviceDefinition | undefined {
  return deviceDefinitions().get(model);
}
