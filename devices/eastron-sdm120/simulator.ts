/**
 * An Eastron SDM120-Modbus meter (or several on one bus): its input registers hold float32 readings
 * at the addresses of the maker's register map, refreshed from a simple load model.
 */
import { type ModbusBusOptions, ModbusBusSimulator, type SimulatorPort, SlaveData } from "../modbus-rtu/simulator.ts";

/** Input register addresses of the SDM120's readings. */
export const SDM120_REGISTERS = {
  voltage: 0x0000,
  current: 0x0006,
  active_power: 0x000c,
  apparent_power: 0x0012,
  reactive_power: 0x0018,
  power_factor: 0x001e,
  phase_angle: 0x0024,
  frequency: 0x0046,
  import_energy: 0x0048,
  export_energy: 0x004a,
  total_energy: 0x0156,
} as const;

export interface Sdm120Options extends ModbusBusOptions {
  /** Volts and amps of the simulated load. */
  voltage?: number;
  current?: number;
  powerFactor?: number;
  importEnergy?: number;
}

/** Simulated SDM120 meters, one per slave address. */
export class Sdm120Simulator extends ModbusBusSimulator {
  constructor(port: SimulatorPort, options: Sdm120Options = {}) {
    super(port, { ...options, slaves: [] });
    for (const address of options.slaves ?? [Number(options.slave ?? 1)]) {
      const meter = new SlaveData();
      // The meter answers every address of its input map (unused ones read 0).
      for (let a = 0; a < 0x180; a++) meter.input.set(a, 0);
      this.slaves.set(address, meter);
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
    const m = this.slaves.get(address)!;
    const apparent = load.voltage * load.current;
    const active = apparent * load.powerFactor;
    const angle = (Math.acos(load.powerFactor) * 180) / Math.PI;
    const values: Record<keyof typeof SDM120_REGISTERS, number> = {
      voltage: load.voltage,
      current: load.current,
      active_power: active,
      apparent_power: apparent,
      reactive_power: Math.sqrt(Math.max(apparent ** 2 - active ** 2, 0)),
      power_factor: load.powerFactor,
      phase_angle: angle,
      frequency: 50.01,
      import_energy: load.importEnergy,
      export_energy: load.exportEnergy ?? 0,
      total_energy: load.importEnergy + (load.exportEnergy ?? 0),
    };
    for (const [key, value] of Object.entries(values)) m.setFloat("input", SDM120_REGISTERS[key as keyof typeof SDM120_REGISTERS], value);
  }
}
