/**
 * The device models built into hearth. Definitions are imported statically (Bun parses the YAML at build
 * time), so a compiled binary carries them and no file is read at run time. src/catalogue.ts makes the
 * engine's catalogue of them; nothing in src/ below the composition root imports this file.
 */
import type { ProbeSimulatorFactory, SimulatorFactory } from "../src/engine/simulator.ts";
import ds18b20 from "./ds18b20/device.yaml";
import { Ds18b20Simulator } from "./ds18b20/simulator.ts";
import dsmrP1 from "./dsmr-p1/device.yaml";
import { DsmrP1Simulator } from "./dsmr-p1/simulator.ts";
import dsmrP1Legacy from "./dsmr-p1-legacy/device.yaml";
import eastronSdm120 from "./eastron-sdm120/device.yaml";
import { Sdm120Simulator } from "./eastron-sdm120/simulator.ts";
import hearthIo from "./hearth-io/device.yaml";
import { HearthIoSimulator } from "./hearth-io/simulator.ts";
import modbusRtu from "./modbus-rtu/device.yaml";
import { ModbusBusSimulator } from "./modbus-rtu/simulator.ts";
import nmeaGps from "./nmea-gps/device.yaml";
import { NmeaGpsSimulator } from "./nmea-gps/simulator.ts";

/** Each model's raw definition, checked by src/catalogue.ts. */
export const DEFINITION_SOURCES: Record<string, unknown> = {
  "hearth-io": hearthIo,
  "nmea-gps": nmeaGps,
  "eastron-sdm120": eastronSdm120,
  "modbus-rtu": modbusRtu,
  ds18b20,
  "dsmr-p1": dsmrP1,
  "dsmr-p1-legacy": dsmrP1Legacy,
};

/** Each model's simulator, played on a pseudo-terminal for `port: sim` and `hearth sim <model>`. */
export const SIMULATORS: Record<string, SimulatorFactory> = {
  "hearth-io": (port, options) => new HearthIoSimulator(port, options),
  "nmea-gps": (port, options) => new NmeaGpsSimulator(port, options),
  "eastron-sdm120": (port, options) => new Sdm120Simulator(port, options),
  "modbus-rtu": (port, options) => new ModbusBusSimulator(port, options),
  "dsmr-p1": (port, options) => new DsmrP1Simulator(port, options),
  "dsmr-p1-legacy": (port, options) => new DsmrP1Simulator(port, { legacy: true, ...options }),
};

/** Simulators of models read through sysfs files rather than a serial line (no pty). */
export const PROBE_SIMULATORS: Record<string, ProbeSimulatorFactory> = {
  ds18b20: (options) => new Ds18b20Simulator(options),
};
