/**
 * An Eastron SDM120-Modbus meter (or several on one bus): its input registers hold float32 readings
 * at the addresses of the maker's register map, refreshed from a simple load model.
 */
import { MeterBusSimulator } from "../modbus-rtu/meter-simulator.ts";
import type { ModbusBusOptions, SimulatorPort } from "../modbus-rtu/simulator.ts";

/** Input register addresses of the SDM120's readings. */
export const SDM120_REGISTERS = {
  voltage: { address: 0x0000 },
  current: { address: 0x0006 },
  active_power: { address: 0x000c },
  apparent_power: { address: 0x0012 },
  reactive_power: { address: 0x0018 },
  power_factor: { address: 0x001e },
  phase_angle: { address: 0x0024 },
  frequency: { address: 0x0046 },
  import_energy: { address: 0x0048 },
  export_energy: { address: 0x004a },
  total_energy: { address: 0x0156 },
} as const;

export interface Sdm120Options extends ModbusBusOptions {
  /** Volts and amps of the simulated load. */
  voltage?: number;
  current?: number;
  powerFactor?: number;
  importEnergy?: number;
}

/** Simulated SDM120 meters, one per slave address. */
export class Sdm120Simulator extends MeterBusSimulator<keyof typeof SDM120_REGISTERS> {
  constructor(port: SimulatorPort, options: Sdm120Options = {}) {
    super(port, options, SDM120_REGISTERS, 0x180);
    for (const address of this.slaves.keys()) {
      this.setLoad(address, {
        voltage: options.voltage ?? 230.2,
        current: options.current ?? 4.35,
        powerFactor: options.powerFactor ?? 0.95,
        importEnergy: options.importEnergy ?? 1234.567,
      });
    }
  }

  /** Sets a meter's load; power, angle and totals follow from it. */
  setLoad(address: number, load: { voltage: number; current: number; powerFactor: number; importEnergy: number; exportEnergy?: number }): void {
    const apparent = load.voltage * load.current;
    const active = apparent * load.powerFactor;
    this.set(address, {
      voltage: load.voltage,
      current: load.current,
      active_power: active,
      apparent_power: apparent,
      reactive_power: Math.sqrt(Math.max(apparent ** 2 - active ** 2, 0)),
      power_factor: load.powerFactor,
      phase_angle: (Math.acos(load.powerFactor) * 180) / Math.PI,
      frequency: 50.01,
      import_energy: load.importEnergy,
      export_energy: load.exportEnergy ?? 0,
      total_energy: load.importEnergy + (load.exportEnergy ?? 0),
    });
  }
}
