/**
 * Eastron SDM630-Modbus three-phase meters on one bus: float32 input registers (high word first) at the
 * addresses of Eastron's "SDM630 Modbus Protocol" map, from a per-phase load model. Like the meter,
 * a read of more than 80 registers (40 parameters) gets an exception.
 */
import { MeterBusSimulator } from "../modbus-rtu/meter-simulator.ts";
import type { ModbusBusOptions, SimulatorPort } from "../modbus-rtu/simulator.ts";

/** Input register addresses of the three-phase readings (Eastron's map; the SDM72D-M-2 keeps the same addresses). */
export const SDM630_REGISTERS = {
  voltage_l1: { address: 0x0000 },
  voltage_l2: { address: 0x0002 },
  voltage_l3: { address: 0x0004 },
  current_l1: { address: 0x0006 },
  current_l2: { address: 0x0008 },
  current_l3: { address: 0x000a },
  power_l1: { address: 0x000c },
  power_l2: { address: 0x000e },
  power_l3: { address: 0x0010 },
  power_factor_l1: { address: 0x001e },
  power_factor_l2: { address: 0x0020 },
  power_factor_l3: { address: 0x0022 },
  total_power: { address: 0x0034 },
  frequency: { address: 0x0046 },
  import_energy: { address: 0x0048 },
  export_energy: { address: 0x004a },
  total_energy: { address: 0x0156 },
} as const;

/** One phase of the simulated load. */
export interface PhaseLoad {
  voltage: number;
  current: number;
  powerFactor: number;
}

/** A three-phase meter's load: its phases and its energy counters (kWh). */
export interface ThreePhaseLoad {
  phases: [PhaseLoad, PhaseLoad, PhaseLoad];
  importEnergy: number;
  exportEnergy?: number;
}

/** The load a simulated meter starts with: a house's three unequal phases. */
export const DEFAULT_THREE_PHASE_LOAD: ThreePhaseLoad = {
  phases: [
    { voltage: 230.1, current: 5.2, powerFactor: 0.98 },
    { voltage: 231.4, current: 1.75, powerFactor: 0.9 },
    { voltage: 229.8, current: 0.5, powerFactor: 1 },
  ],
  importEnergy: 18_234.5,
  exportEnergy: 3_021.25,
};

/** Simulated three-phase Eastron meters; `maxRegisters` is the model's read limit (80 for the SDM630). */
export class Sdm630Simulator extends MeterBusSimulator<keyof typeof SDM630_REGISTERS> {
  constructor(port: SimulatorPort, options: ModbusBusOptions = {}) {
    super(port, { maxRegisters: 80, ...options }, SDM630_REGISTERS, 0x180);
    for (const address of this.slaves.keys()) this.setLoad(address, DEFAULT_THREE_PHASE_LOAD);
  }

  /** Sets a meter's load: per-phase power is V × I × PF, the total their sum, total energy import plus export. */
  setLoad(address: number, load: ThreePhaseLoad): void {
    const power = load.phases.map((p) => p.voltage * p.current * p.powerFactor);
    const [l1, l2, l3] = load.phases;
    this.set(address, {
      voltage_l1: l1.voltage,
      voltage_l2: l2.voltage,
      voltage_l3: l3.voltage,
      current_l1: l1.current,
      current_l2: l2.current,
      current_l3: l3.current,
      power_l1: power[0],
      power_l2: power[1],
      power_l3: power[2],
      power_factor_l1: l1.powerFactor,
      power_factor_l2: l2.powerFactor,
      power_factor_l3: l3.powerFactor,
      total_power: power.reduce((a, b) => a + b, 0),
      frequency: 49.98,
      import_energy: load.importEnergy,
      export_energy: load.exportEnergy ?? 0,
      total_energy: load.importEnergy + (load.exportEnergy ?? 0),
    });
  }
}
