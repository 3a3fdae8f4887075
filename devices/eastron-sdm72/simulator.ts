/**
 * Eastron SDM72D-M-2 meters on one bus: the SDM630's register addresses (the SDM72 answers a subset
 * of them), and its own read limit, 60 registers (30 parameters), beyond which it answers an exception.
 */
import { Sdm630Simulator } from "../eastron-sdm630/simulator.ts";
import type { ModbusBusOptions, SimulatorPort } from "../modbus-rtu/simulator.ts";

/** Simulated SDM72D-M-2 meters, one per slave address. */
export class Sdm72Simulator extends Sdm630Simulator {
  constructor(port: SimulatorPort, options: ModbusBusOptions = {}) {
    super(port, { maxRegisters: 60, ...options });
  }
}
