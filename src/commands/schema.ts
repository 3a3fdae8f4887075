import { z } from "zod";
import { DeviceDefinitionSchema } from "../config/device-definition.ts";
import { ConfigSchema } from "../config/schema.ts";
import type { Output } from "./output.ts";

/** The JSON Schema of hearth.yaml, for editors (the yaml-language-server reads it). */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(ConfigSchema, { io: "input", unrepresentable: "any" }),
    title: "hearth.yaml",
    description: "Configuration of hearth, a bridge from serial devices to MQTT",
  };
}

/** The JSON Schema of a model file (a built-in device.yaml, or a user's model in a `models:` folder), for editors. */
export function modelJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(DeviceDefinitionSchema, { io: "input", unrepresentable: "any" }),
    title: "hearth model file",
    description: "A device model of hearth: its protocol, serial settings and entities",
  };
}

/** `hearth schema [--model]`: prints the JSON Schema of hearth.yaml, or with `model` of a model file. */
export function schemaCommand(output: Output, options: { model?: boolean } = {}): number {
  output.out(`${JSON.stringify(options.model ? modelJsonSchema() : configJsonSchema(), null, 2)}\n`);
  return 0;
}
