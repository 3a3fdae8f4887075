import { z } from "zod";
import { type DeviceDefinition, ModbusEntitySchema } from "../config/device-definition.ts";
import { describeIssues } from "../config/issues.ts";
import type { DeviceConfig } from "../config/schema.ts";
import { BinaryDriver } from "./binary/driver.ts";
import { BinaryFrames } from "./binary/frames.ts";
import { DeviceError } from "./device-error.ts";
import type { DriverFactory } from "./driver.ts";
import { FIRMWARE_ENTITY, FIRMWARE_ENTITY_KEY } from "./firmware/entity.ts";
import { LineDriver } from "./line/driver.ts";
import { ModbusDriver } from "./modbus/driver.ts";
import { replyComplete } from "./modbus/timing.ts";
import { NmeaDriver } from "./nmea/driver.ts";
import { OneWireDriver } from "./onewire/driver.ts";
import { SysfsTransport } from "./onewire/sysfs-transport.ts";
import { TelegramDriver } from "./telegram/driver.ts";
import type { Framing, Transport } from "./transport.ts";
import { CHECKSUM_MARKER } from "./vedirect/block.ts";
import { VeDirectDriver } from "./vedirect/driver.ts";

/** The driver of each protocol family. */
export const DRIVERS: Record<DeviceDefinition["protocol"], DriverFactory> = {
  line: (ctx) => new LineDriver(ctx),
  nmea: (ctx) => new NmeaDriver(ctx),
  modbus: (ctx) => new ModbusDriver(ctx),
  onewire: (ctx) => new OneWireDriver(ctx),
  vedirect: (ctx) => new VeDirectDriver(ctx),
  binary: (ctx) => new BinaryDriver(ctx),
  telegram: (ctx) => new TelegramDriver(ctx),
};

/** How a protocol's byte stream is cut into frames. */
export function framingOf(definition: DeviceDefinition): Framing {
  switch (definition.protocol) {
    case "line":
      return { kind: "delimiter", delimiter: definition.line.delimiter };
    case "nmea":
      // Sentences end in CR LF; the driver drops the CR. A sentence is at most 82 characters.
      return { kind: "delimiter", delimiter: "\n", maxLength: 256 };
    case "modbus":
      // An RTU frame ends with 3.5 character times of silence (the longest is 256 bytes), or as soon
      // as a reply is whole by its header's length and its CRC.
      return { kind: "gap", gapChars: 3.5, maxLength: 256, complete: replyComplete };
    case "vedirect":
      // A block ends one checksum byte after `\r\nChecksum\t`, and that byte may be any byte, CR or LF too.
      // A block is a few hundred bytes; 4 KiB bounds a stream that never sends the marker.
      return { kind: "marker", marker: CHECKSUM_MARKER, trailing: 1, maxLength: 4096 };
    case "telegram":
      // `/` … `!`, a 4-digit CRC (DSMR 4+) or none (2.2/3), CR LF; a `/` mid-telegram starts the next.
      return { kind: "bracketed", start: "/", end: "!", trailer: 4, delimiter: "\r\n", maxLength: definition.telegram.max_length };
    case "onewire":
      return { kind: "raw" }; // never used: sysfs devices have no serial transport
    case "binary":
      // Frames found by their header; one that fails its checksum sends the scan on one byte after its header.
      return { kind: "header", ...new BinaryFrames(definition.binary).framing() };
  }
}

/** The transport of a device that needs no serial port (a sysfs probe), or undefined for a serial device. */
export function ownTransportOf(definition: DeviceDefinition, config: DeviceConfig): Transport | undefined {
  return definition.protocol === "onewire" ? new SysfsTransport(config.port) : undefined;
}

/**
 * A device's definition with what hearth and its config add: a line device whose hello says its firmware
 * version has an entity showing it (unless its model has a `firmware` entity of its own), and a generic
 * Modbus model's entities are the registers its `options.registers` describes, validated here with
 * path-prefixed messages.
 */
export function effectiveDefinition(definition: DeviceDefinition, config: DeviceConfig): DeviceDefinition {
  if (definition.protocol === "line") {
    const saysVersion = definition.line.hello?.includes("(?<sw_version>") === true;
    if (!saysVersion || definition.entities.some((e) => e.key === FIRMWARE_ENTITY_KEY)) return definition;
    return { ...definition, entities: [...definition.entities, FIRMWARE_ENTITY] };
  }
  if (definition.protocol !== "modbus" || !definition.modbus.entities_from_options) return definition;
  const schema = z.array(ModbusEntitySchema).min(1);
  const parsed = schema.safeParse(config.options.registers);
  if (!parsed.success) {
    const problems = describeIssues(parsed.error, { schema, input: config.options.registers, at: ["options", "registers"] });
    throw new DeviceError("DEVICE_SETUP_FAILED", config.id, problems);
  }
  return { ...definition, entities: [...definition.entities, ...parsed.data] };
}
