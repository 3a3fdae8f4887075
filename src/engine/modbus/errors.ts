import { HearthError } from "../../core/errors.ts";

/** Codes of the Modbus master's errors. */
export type ModbusErrorCode = "MODBUS_EXCEPTION" | "MODBUS_TIMEOUT" | "MODBUS_BAD_CRC" | "MODBUS_BAD_REPLY";

/** Names of the standard exception codes (Modbus Application Protocol v1.1b3, §7). */
export const EXCEPTION_NAMES: Record<number, string> = {
  1: "illegal function",
  2: "illegal data address",
  3: "illegal data value",
  4: "server device failure",
  5: "acknowledge",
  6: "server device busy",
  8: "memory parity error",
  10: "gateway path unavailable",
  11: "gateway target device failed to respond",
};

/** Names of the function codes hearth speaks. */
export const FUNCTION_NAMES: Record<number, string> = {
  1: "read coils",
  2: "read discrete inputs",
  3: "read holding registers",
  4: "read input registers",
  5: "write single coil",
  6: "write single register",
  15: "write multiple coils",
  16: "write multiple registers",
};

/** An error of one Modbus request; an exception response carries its function and exception codes. */
export class ModbusError extends HearthError<ModbusErrorCode> {
  override readonly name = "ModbusError";
  readonly slave: number;
  readonly functionCode: number;
  readonly exceptionCode: number | undefined;

  constructor(code: ModbusErrorCode, message: string, details: { slave: number; functionCode: number; exceptionCode?: number; cause?: unknown }) {
    super(code, message, { cause: details.cause });
    this.slave = details.slave;
    this.functionCode = details.functionCode;
    this.exceptionCode = details.exceptionCode;
  }

  /** The exception response of a slave: "slave 3: read holding registers (fc 3): illegal data address (exception 2)"; `name` names a model's own function. */
  static exception(slave: number, functionCode: number, exceptionCode: number, name?: string): ModbusError {
    const standard = FUNCTION_NAMES[functionCode];
    // A model's own function is named by its entity and its code in hex, as makers' manuals give it.
    const fn = standard === undefined ? `${name ?? "function"} (fc 0x${functionCode.toString(16).padStart(2, "0")})` : `${standard} (fc ${functionCode})`;
    const ex = EXCEPTION_NAMES[exceptionCode] ?? "unknown exception";
    return new ModbusError("MODBUS_EXCEPTION", `slave ${slave}: ${fn}: ${ex} (exception ${exceptionCode})`, {
      slave,
      functionCode,
      exceptionCode,
    });
  }
}

/** Narrows an error to a ModbusError, of one code if given. */
export function isModbusError(err: unknown, code?: ModbusErrorCode): err is ModbusError {
  return err instanceof ModbusError && (code === undefined || err.code === code);
}
