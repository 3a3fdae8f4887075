/**
 * The device models hearth knows. Definitions are imported statically (Bun parses the YAML at build
 * time), so a compiled binary carries them and no file is read at run time.
 */
import hearthIo from "./hearth-io/device.yaml";

/** Each model's raw definition, validated by src/devices/registry.ts. */
export const DEFINITION_SOURCES: Record<string, unknown> = {
  "hearth-io": hearthIo,
};
