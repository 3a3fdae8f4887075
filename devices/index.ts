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
import eastronSdm72 from "./eastron-sdm72/device.yaml";
import { Sdm72Simulator } from "./eastron-sdm72/simulator.ts";
import eastronSdm120 from "./eastron-sdm120/device.yaml";
import { Sdm120Simulator } from "./eastron-sdm120/simulator.ts";
import eastronSdm630 from "./eastron-sdm630/device.yaml";
import { Sdm630Simulator } from "./eastron-sdm630/simulator.ts";
import hearthIo from "./hearth-io/device.yaml";
import { HearthIoSimulator } from "./hearth-io/simulator.ts";
import mhZ19b from "./mh-z19b/device.yaml";
import { MhZ19bSimulator } from "./mh-z19b/simulator.ts";
import modbusRtu from "./modbus-rtu/device.yaml";
import { ModbusBusSimulator } from "./modbus-rtu/simulator.ts";
import nmeaGps from "./nmea-gps/device.yaml";
import { NmeaGpsSimulator } from "./nmea-gps/simulator.ts";
import pms5003 from "./pms5003/device.yaml";
import { Pms5003Simulator } from "./pms5003/simulator.ts";
import pms5003Passive from "./pms5003-passive/device.yaml";
import pzem004t from "./pzem-004t/device.yaml";
import { PzemSimulator } from "./pzem-004t/simulator.ts";
import sds011 from "./sds011/device.yaml";
import { Sds011Simulator } from "./sds011/simulator.ts";
import victronBmv from "./victron-bmv/device.yaml";
import { VictronBmvSimulator } from "./victron-bmv/simulator.ts";
import victronMppt from "./victron-mppt/device.yaml";
import { VictronMpptSimulator } from "./victron-mppt/simulator.ts";

/** Each model's raw definition, checked by src/catalogue.ts. */
export const DEFINITION_SOURCES: Record<string, unknown> = {
  "hearth-io": hearthIo,
  "nmea-gps": nmeaGps,
  "eastron-sdm120": eastronSdm120,
  "eastron-sdm630": eastronSdm630,
  "eastron-sdm72": eastronSdm72,
  "pzem-004t": pzem004t,
  "modbus-rtu": modbusRtu,
  ds18b20,
  "victron-mppt": victronMppt,
  "victron-bmv": victronBmv,
  "mh-z19b": mhZ19b,
  pms5003,
  "pms5003-passive": pms5003Passive,
  sds011,
  "dsmr-p1": dsmrP1,
  "dsmr-p1-legacy": dsmrP1Legacy,
};

/** Each model's simulator, played on a pseudo-terminal for `port: sim` and `hearth sim <model>`. */
export const SIMULATORS: Record<string, SimulatorFactory> = {
  "hearth-io": (port, options) => new HearthIoSimulator(port, options),
  "nmea-gps": (port, options) => new NmeaGpsSimulator(port, options),
  "eastron-sdm120": (port, options) => new Sdm120Simulator(port, options),
  "eastron-sdm630": (port, options) => new Sdm630Simulator(port, options),
  "eastron-sdm72": (port, options) => new Sdm72Simulator(port, options),
  "pzem-004t": (port, options) => new PzemSimulator(port, options),
  "modbus-rtu": (port, options) => new ModbusBusSimulator(port, options),
  "victron-mppt": (port, options) => new VictronMpptSimulator(port, options),
  "victron-bmv": (port, options) => new VictronBmvSimulator(port, options),
  "mh-z19b": (port, options) => new MhZ19bSimulator(port, options),
  pms5003: (port, options) => new Pms5003Simulator(port, options),
  "pms5003-passive": (port, options) => new Pms5003Simulator(port, options),
  sds011: (port, options) => new Sds011Simulator(port, options),
  "dsmr-p1": (port, options) => new DsmrP1Simulator(port, options),
  "dsmr-p1-legacy": (port, options) => new DsmrP1Simulator(port, { legacy: true, ...options }),
};

/** Simulators of models read through sysfs files rather than a serial line (no pty). */
export const PROBE_SIMULATORS: Record<string, ProbeSimulatorFactory> = {
  ds18b20: (options) => new Ds18b20Simulator(options),
};
