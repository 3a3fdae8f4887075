import { FleetFileError, type FleetHost, parseDestination, readFleetFile } from "../../src/config/fleet-file.ts";
import { DeployError } from "./errors.ts";

export type { HostSettings } from "../../src/config/fleet-file.ts";

/** One board to deploy to: a host of the fleet file (src/config/fleet-file.ts), or one named on the command line. */
export type HostTarget = FleetHost;

/** Parses a host given on the command line. */
export function hostFromArgument(text: string): HostTarget {
  const parsed = parseDestination(text);
  if (parsed === undefined) throw new DeployError("USAGE", `"${text}" is not a host: expected user@host[:port]`);
  return { label: text, destination: parsed };
}

/** Reads a fleet file (the format is src/config/fleet-file.ts's); a bad one is deploy's FLEET_INVALID. */
export async function readFleet(file: string): Promise<HostTarget[]> {
  try {
    return await readFleetFile(file);
  } catch (err) {
    if (err instanceof FleetFileError) throw new DeployError("FLEET_INVALID", err.message, { cause: err });
    throw err;
  }
}
