import type { DeviceDefinition } from "../config/device-definition.ts";
import type { DriverFactory } from "./driver.ts";
import type { Framing } from "./link.ts";
import { LineDriver } from "./line/driver.ts";

/** The driver of each protocol family. */
export const DRIVERS: Record<DeviceDefinition["protocol"], DriverFactory> = {
  line: (ctx) => new LineDriver(ctx),
};

/** How a protocol's byte stream is cut into frames. */
export function framingOf(definition: DeviceDefinition): Framing {
  switch (definition.protocol) {
    case "line":
      return { kind: "delimiter", delimiter: definition.line.delimiter };
  }
}
