import { HearthError } from "../core/errors.ts";

/** Codes of the device engine's errors. */
export type DeviceErrorCode =
  | "DEVICE_UNAVAILABLE"
  | "DEVICE_BUSY"
  | "DEVICE_COMMAND_TIMEOUT"
  | "DEVICE_COMMAND_REJECTED"
  /** No device of that id is configured. */
  | "DEVICE_UNKNOWN"
  /** The device has no entity of that key. */
  | "DEVICE_UNKNOWN_ENTITY"
  | "DEVICE_SETUP_FAILED"
  | "DEVICE_NOT_WRITABLE"
  /** A model's definition is broken (a bug in the model, not in the configuration): a HearthError, no one device being to blame. */
  | "DEVICE_DEFINITION_INVALID"
  /** `port: sim` (or `hearth sim`) for a model that has no simulator: a HearthError naming the model. */
  | "DEVICE_NO_SIMULATOR"
  /** A capture named for replay (`hearth sim --replay`, a model's `simulator.replay`) cannot be read: a HearthError naming the file. */
  | "DEVICE_CAPTURE_UNREADABLE"
  /** A firmware update refused before anything was touched: no update for the model, a bad image, a shared bus, one running already. */
  | "DEVICE_FIRMWARE_REFUSED"
  /** An image file a tool would send (`hearth firmware`, deploy's `--firmware`) cannot be read, is too big or is not Intel HEX: a HearthError saying which. */
  | "DEVICE_FIRMWARE_FILE_REFUSED";

/** An error of one device, naming it. */
export class DeviceError extends HearthError<DeviceErrorCode> {
  override readonly name = "DeviceError";
  readonly deviceId: string;
  /** The device's own error code, for DEVICE_COMMAND_REJECTED (`bad_value`, a Modbus exception …). */
  readonly deviceCode: string | undefined;

  constructor(code: DeviceErrorCode, deviceId: string, message: string, options: { cause?: unknown; deviceCode?: string } = {}) {
    super(code, `${deviceId}: ${message}`, { cause: options.cause });
    this.deviceId = deviceId;
    this.deviceCode = options.deviceCode;
  }
}
