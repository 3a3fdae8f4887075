import { z } from "zod";
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

/** `hearth schema`: prints the JSON Schema. */
export function schemaCommand(output: Output): number {
  output.out(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  return 0;
}
