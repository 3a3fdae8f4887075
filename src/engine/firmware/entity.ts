import { LineEntitySchema } from "../../config/device-definition.ts";

/** The key of the entity that shows a device's firmware version (a diagnostic sensor). */
export const FIRMWARE_ENTITY_KEY = "firmware";

/** The firmware version's entity: text, a diagnostic, set from the version the device's hello says. */
export const FIRMWARE_ENTITY = LineEntitySchema.parse({ key: FIRMWARE_ENTITY_KEY, kind: "sensor", name: "Firmware", numeric: false, entity_category: "diagnostic", icon: "mdi:chip" });
