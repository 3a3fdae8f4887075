/**
 * Meters of one register map on a simulated bus, one per slave address: the map is the maker's, written
 * out here from its document (not read from the model file, so a wrong address in a model shows up).
 */
import type { DataType, WordOrder } from "../../src/engine/modbus/registers.ts";
import { type ModbusBusOptions, ModbusBusSimulator, type SimulatorPort, SlaveData } from "./simulator.ts";

/** Where a reading lives in a meter's map and how its raw value makes the reading (`raw × scale`). */
export interface MeterRegister {
  address: number;
  table?: "input" | "holding";
  type?: DataType;
  word_order?: WordOrder;
  scale?: number;
}

/** Simulated meters sharing one register map; readings are set and read by key, in the reading's units. */
export class MeterBusSimulator<K extends string> extends ModbusBusSimulator {
  private readonly map: Record<K, MeterRegister>;

  /** `span`: the meter answers every input register below it (unused ones read 0). */
  constructor(port: SimulatorPort, options: ModbusBusOptions, map: Record<K, MeterRegister>, span: number) {
    super(port, { ...options, slaves: [] });
    this.map = map;
    for (const address of options.slaves ?? [Number(options.slave ?? 1)]) this.slaves.set(address, SlaveData.inputSpan(span));
  }

  /** Sets some readings of the meter at `slave`. */
  set(slave: number, readings: Partial<Record<K, number>>): void {
    const m = this.slaves.get(slave)!;
    for (const [key, value] of Object.entries(readings) as Array<[K, number]>) {
      const r = this.map[key];
      const raw = r.type === "float32" || r.type === undefined ? value : Math.round(value / (r.scale ?? 1));
      m.setValue(r.table ?? "input", r.address, raw, r.type ?? "float32", r.word_order);
    }
  }

  /** One reading of the meter at `slave`, as it holds it now. */
  get(slave: number, key: K): number {
    const r = this.map[key];
    return this.slaves.get(slave)!.getValue(r.table ?? "input", r.address, r.type ?? "float32", r.word_order) * (r.scale ?? 1);
  }
}
