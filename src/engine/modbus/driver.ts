import { type ModbusDeviceDefinition, type ModbusEntity, type ModbusRegister, type ModbusRegisterEntity, serialSettingsOf } from "../../config/device-definition.ts";
import type { EntityCommand } from "../../entities/commands.ts";
import type { Entity, RawValue } from "../../entities/entity.ts";
import { STATE_ON } from "../../entities/on-off.ts";
import { DeviceError } from "../device-error.ts";
import type { Driver, DriverContext } from "../driver.ts";
import { ModbusBus } from "./bus.ts";
import { isModbusError } from "./errors.ts";
import { type Request, rawFunction, readBits, readRegisters, writeCoil, writeRegister, writeRegisters } from "./pdu.ts";
import { planReads, type ReadGroup } from "./plan.ts";
import { decodeValue, encodeValue } from "./registers.ts";
import { interFrameSilenceMs } from "./timing.ts";

/** Which entity kinds each register kind can feed, and which can be written (a register feeds a binary_sensor: on while not 0). */
const FITS: Record<ModbusRegister["kind"], readonly string[]> = {
  coil: ["switch", "binary_sensor"],
  discrete_input: ["binary_sensor"],
  holding: ["sensor", "number", "binary_sensor"],
  input: ["sensor", "binary_sensor"],
};

/** Whether an entity is read from a register or coil (every kind but a button, which sends a function). */
function hasRegister(e: ModbusEntity): e is ModbusRegisterEntity {
  return e.kind !== "button";
}

/**
 * The driver of Modbus RTU slaves: polls read every entity in as few requests as the register map
 * allows; commands write a coil (switch) or holding registers (number), or send a button's own
 * function. All devices on one port share one ModbusBus and so one request on the wire at a time.
 */
export class ModbusDriver implements Driver {
  private readonly ctx: DriverContext;
  private readonly definition: ModbusDeviceDefinition;
  private readonly bus: ModbusBus;
  private readonly groups: ReadGroup[];
  readonly slave: number;
  private readonly timeoutMs: number;

  constructor(ctx: DriverContext) {
    this.ctx = ctx;
    this.definition = ctx.definition as ModbusDeviceDefinition;
    this.bus = ModbusBus.of(ctx.transport, interFrameSilenceMs(serialSettingsOf(ctx.definition, ctx.config)));
    const options = ctx.config.options;
    this.slave = Number(options.slave ?? this.definition.modbus.slave);
    this.timeoutMs = Number(options.response_timeout ?? this.definition.modbus.response_timeout) * 1000;
    const { max_gap, max_registers } = this.definition.modbus;
    this.groups = planReads(this.definition.entities.filter(hasRegister), max_gap, max_registers);
  }

  async start(): Promise<void> {
    const id = this.ctx.config.id;
    if (!Number.isInteger(this.slave) || this.slave < 1 || this.slave > 247) {
      throw new DeviceError("DEVICE_SETUP_FAILED", id, `options.slave: expected a slave address 1–247, got ${this.ctx.config.options.slave}`);
    }
    if (!(this.timeoutMs > 0)) throw new DeviceError("DEVICE_SETUP_FAILED", id, "options.response_timeout: expected a positive number of seconds");
    for (const e of this.definition.entities.filter(hasRegister)) {
      if (!FITS[e.register.kind].includes(e.kind)) {
        throw new DeviceError("DEVICE_SETUP_FAILED", id, `${e.key}: a ${e.register.kind} cannot be a ${e.kind} (it can be: ${FITS[e.register.kind].join(", ")})`);
      }
    }
  }

  async stop(): Promise<void> {}

  async poll(signal: AbortSignal): Promise<void> {
    const readings = new Map<string, RawValue>();
    try {
      for (const group of this.groups) {
        const options = { signal, timeoutMs: this.timeoutMs, retries: this.definition.modbus.retries, onGarbage: this.onGarbage };
        if (group.kind === "coil" || group.kind === "discrete_input") {
          const bits = await this.bus.request(this.slave, readBits(group.kind === "coil" ? 1 : 2, group.start, group.count), options);
          for (const e of group.entities) readings.set(e.key, bits[e.register.address - group.start]!);
        } else {
          const words = await this.bus.request(this.slave, readRegisters(group.kind === "holding" ? 3 : 4, group.start, group.count), options);
          for (const e of group.entities) {
            const r = e.register;
            const raw = decodeValue(words, r.address - group.start, r.type, r.word_order);
            readings.set(e.key, e.kind === "binary_sensor" ? raw !== 0 : scaled(raw, r));
          }
        }
      }
    } finally {
      // What was read before a failure is still true.
      if (readings.size > 0) this.ctx.report(readings);
    }
  }

  async execute(entity: Entity, command: EntityCommand, signal: AbortSignal): Promise<void> {
    const spec = this.definition.entities.find((e) => e.key === entity.key)!;
    if (spec.kind === "button") {
      if (command.action !== "press") throw this.notWritable(entity, command.action);
      // A button has no reading: the device writes its state (when it was pressed) once this resolves.
      return this.send(entity, rawFunction(spec.function.code, spec.function.data, entity.key), signal);
    }
    const r = spec.register;
    let request: Request<void>;
    let reading: RawValue;
    if (r.kind === "coil" && spec.kind === "switch") {
      let on: boolean;
      if (command.action === "toggle") on = this.ctx.currentState(entity.key) !== STATE_ON;
      else if (command.action === "turn_on" || command.action === "turn_off") on = command.action === "turn_on";
      else throw this.notWritable(entity, command.action);
      request = writeCoil(r.address, on);
      reading = on;
    } else if (r.kind === "holding" && spec.kind === "number" && command.action === "set_value") {
      const value = Number(command.value);
      let words: number[];
      try {
        words = encodeValue((value - r.offset) / r.scale, r.type, r.word_order);
      } catch (err) {
        throw new DeviceError("DEVICE_COMMAND_REJECTED", this.ctx.config.id, `${entity.key}: ${(err as Error).message}`, { cause: err });
      }
      request = words.length === 1 ? writeRegister(r.address, words[0]!) : writeRegisters(r.address, words);
      reading = scaled(decodeValue(words, 0, r.type, r.word_order), r);
    } else throw this.notWritable(entity, command.action);
    await this.send(entity, request, signal);
    this.ctx.report(new Map([[entity.key, reading]]));
  }

  /** Sends a write (never retried), its failures as the command's: a timeout, or the slave's refusal. */
  private async send(entity: Entity, request: Request<void>, signal: AbortSignal): Promise<void> {
    try {
      await this.bus.request(this.slave, request, { signal, timeoutMs: this.timeoutMs, onGarbage: this.onGarbage });
    } catch (err) {
      if (isModbusError(err, "MODBUS_TIMEOUT")) throw new DeviceError("DEVICE_COMMAND_TIMEOUT", this.ctx.config.id, err.message, { cause: err });
      if (isModbusError(err, "MODBUS_EXCEPTION")) {
        throw new DeviceError("DEVICE_COMMAND_REJECTED", this.ctx.config.id, err.message, { cause: err, deviceCode: `exception_${err.exceptionCode}` });
      }
      // An answer that is not the expected one (a button's function not echoed): the command did not do what it says.
      if (isModbusError(err, "MODBUS_BAD_REPLY")) {
        throw new DeviceError("DEVICE_COMMAND_REJECTED", this.ctx.config.id, `${entity.key}: ${err.message}`, { cause: err, deviceCode: "bad_reply" });
      }
      throw err;
    }
  }

  /** A corrupt or misshapen reply is this device's garbage: counted and skipped, never a reading. */
  private readonly onGarbage = (frame: Uint8Array, why: string): void => this.ctx.garbage(frame, why);

  private notWritable(entity: Entity, action: string): DeviceError {
    return new DeviceError("DEVICE_NOT_WRITABLE", this.ctx.config.id, `${entity.key} does not take ${action}`);
  }
}

/** `raw × scale + offset`, without binary fractions' noise (102 × 0.1 is 10.2, not 10.200000000000001). */
function scaled(raw: number, r: ModbusRegister): number {
  if (r.scale === 1 && r.offset === 0) return raw;
  return Number((raw * r.scale + r.offset).toPrecision(12));
}
