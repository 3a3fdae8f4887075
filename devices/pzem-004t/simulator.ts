/**
 * Peacefair PZEM-004T v3 meters on one line: the input registers of the "PZEM-004T V3.0 User Manual"
 * (integers, 32-bit ones low word first), its two holding registers (alarm threshold, address), and its
 * own function 0x42, which resets the energy counter and answers by echoing the request.
 */
import { MeterBusSimulator } from "../modbus-rtu/meter-simulator.ts";
import type { ModbusBusOptions, SimulatorPort } from "../modbus-rtu/simulator.ts";

/** The PZEM's registers: addresses, types and resolutions from the user manual. */
export const PZEM_REGISTERS = {
  voltage: { address: 0x0000, type: "uint16", scale: 0.1 },
  current: { address: 0x0001, type: "uint32", word_order: "little", scale: 0.001 },
  power: { address: 0x0003, type: "uint32", word_order: "little", scale: 0.1 },
  energy: { address: 0x0005, type: "uint32", word_order: "little", scale: 1 }, // Wh
  frequency: { address: 0x0007, type: "uint16", scale: 0.1 },
  power_factor: { address: 0x0008, type: "uint16", scale: 0.01 },
  alarm: { address: 0x0009, type: "uint16", scale: 1 }, // 0xFFFF while over the threshold, else 0
  alarm_threshold: { address: 0x0001, table: "holding", type: "uint16", scale: 1 }, // W
} as const;

/** The PZEM's function "reset energy": no data; the reply echoes the request. */
export const PZEM_RESET_ENERGY = 0x42;

export interface PzemOptions extends ModbusBusOptions {
  voltage?: number;
  current?: number;
  powerFactor?: number;
  /** The energy counter, Wh. */
  energy?: number;
}

/** Simulated PZEM-004T v3 meters, one per slave address. */
export class PzemSimulator extends MeterBusSimulator<keyof typeof PZEM_REGISTERS> {
  constructor(port: SimulatorPort, options: PzemOptions = {}) {
    super(port, options, PZEM_REGISTERS, 10);
    for (const [address, meter] of this.slaves) {
      meter.holding.set(0x0001, 2300);
      meter.holding.set(0x0002, address);
      const voltage = options.voltage ?? 229.6;
      const current = options.current ?? 2.345;
      const powerFactor = options.powerFactor ?? 0.93;
      this.set(address, { voltage, current, power: voltage * current * powerFactor, energy: options.energy ?? 8_765, frequency: 50, power_factor: powerFactor, alarm: 0 });
    }
    this.functions.set(PZEM_RESET_ENERGY, {
      dataLength: 0,
      answer: (meter, pdu) => {
        meter.setValue("input", PZEM_REGISTERS.energy.address, 0, "uint32", "little");
        return pdu.slice();
      },
    });
  }
}
