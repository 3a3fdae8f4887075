import type { ModbusRegister, ModbusRegisterEntity } from "../../config/device-definition.ts";
import { wordsOf } from "./registers.ts";

/** One read request covering the registers (or bits) of several entities. */
export interface ReadGroup {
  kind: ModbusRegister["kind"];
  start: number;
  count: number;
  entities: ModbusRegisterEntity[];
}

const MAX = { coil: 2000, discrete_input: 2000, holding: 125, input: 125 } as const;

/** Units (registers or bits) an entity's value takes. */
export function sizeOf(register: ModbusRegister): number {
  return register.kind === "coil" || register.kind === "discrete_input" ? 1 : wordsOf(register.type);
}

/**
 * Groups entities into as few reads as the protocol allows: same kind, in address order, each read
 * within its function's limit (and for registers within the slave's own, `maxRegisters`) and spanning
 * at most `maxGap` unused units between two entities.
 */
export function planReads(entities: readonly ModbusRegisterEntity[], maxGap: number, maxRegisters: number = MAX.holding): ReadGroup[] {
  const limit = (kind: ModbusRegister["kind"]) => (kind === "holding" || kind === "input" ? Math.min(MAX[kind], maxRegisters) : MAX[kind]);
  const sorted = [...entities].sort((a, b) => a.register.kind.localeCompare(b.register.kind) || a.register.address - b.register.address);
  const groups: ReadGroup[] = [];
  for (const e of sorted) {
    const { kind, address } = e.register;
    const end = address + sizeOf(e.register);
    const last = groups.at(-1);
    if (last !== undefined && last.kind === kind && address <= last.start + last.count + maxGap && end - last.start <= limit(kind)) {
      last.count = Math.max(last.count, end - last.start);
      last.entities.push(e);
    } else groups.push({ kind, start: address, count: end - address, entities: [e] });
  }
  return groups;
}
