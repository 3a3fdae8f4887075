/**
 * The device models hearth knows. Definitions are imported statically (Bun parses the YAML at build
 * time), so a compiled binary carries them and no file is read at run time.
 */
import hearthIo from "./hearth-io/device.yaml";
import { HearthIoSimulator } from "./hearth-io/simulator.ts";

/** Each model's raw definition, validated by src/devices/registry.ts. */
export const DEFINITION_SOURCES: Record<string, unknown> = {
  "hearth-io": hearthIo,
};

/** A simulator as the engine runs it: bytes from the host in, bytes to the host through `port`. */
export interface Simulator {
  start(): void;
  stop(): void;
  receive(bytes: Uint8Array): void;
}

/** Each model's simulator, played on a pseudo-terminal for `port: sim` and `hearth sim <model>`. */
export const SIMULATORS: Record<string, (port: { write(bytes: Uint8Array): void }, options: Record<string, unknown>) => Simulator> = {
  "hearth-io": (port, options) => new HearthIoSimulator(port, options),
};
