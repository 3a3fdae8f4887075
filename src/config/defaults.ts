/**
 * The configuration `hearth run` uses without --config (so `npm start` on a fresh clone shows hearth
 * working): one simulated device of each model that has a simulator, on pseudo-terminals, the
 * embedded MQTT broker, the web console and /metrics on 127.0.0.1:8099, and state changes in the log.
 */
export const DEFAULT_CONFIG = {
  log_states: true,
  // The web console and /metrics on 127.0.0.1:8099 (a file without `http:` opens no port).
  http: {},
  devices: [
    { id: "demo_board", name: "Demo board", model: "hearth-io", port: "sim", poll_interval: 30, options: { interval: 5000 } },
    { id: "demo_gps", name: "Demo GPS", model: "nmea-gps", port: "sim" },
    { id: "demo_meter", name: "Demo meter", model: "eastron-sdm120", port: "sim", poll_interval: 10 },
    { id: "demo_sdm630", name: "Demo three-phase meter", model: "eastron-sdm630", port: "sim", poll_interval: 10 },
    { id: "demo_sdm72", name: "Demo SDM72 meter", model: "eastron-sdm72", port: "sim", poll_interval: 10 },
    { id: "demo_pzem", name: "Demo PZEM-004T", model: "pzem-004t", port: "sim", poll_interval: 10 },
    {
      id: "demo_modbus",
      name: "Demo Modbus device",
      model: "modbus-rtu",
      port: "sim",
      options: {
        // The simulated slave maps addresses 0–199 of every table, all zero at start.
        registers: [
          { key: "setpoint", kind: "number", min: 0, max: 100, step: 1, register: { address: 0, kind: "holding", type: "uint16" } },
          { key: "relay", kind: "switch", register: { address: 0, kind: "coil" } },
        ],
      },
    },
    { id: "demo_probe", name: "Demo probe", model: "ds18b20", port: "sim", poll_interval: 10 },
    { id: "demo_solar", name: "Demo solar charger", model: "victron-mppt", port: "sim" },
    { id: "demo_battery", name: "Demo battery monitor", model: "victron-bmv", port: "sim" },
    { id: "demo_p1", name: "Demo smart meter", model: "dsmr-p1", port: "sim" },
    { id: "demo_p1_legacy", name: "Demo DSMR 3 meter", model: "dsmr-p1-legacy", port: "sim" },
    { id: "demo_co2", name: "Demo CO2 sensor", model: "mh-z19b", port: "sim" },
    { id: "demo_air", name: "Demo particle sensor", model: "pms5003", port: "sim" },
    { id: "demo_air_passive", name: "Demo particle sensor (passive)", model: "pms5003-passive", port: "sim" },
    { id: "demo_dust", name: "Demo dust sensor", model: "sds011", port: "sim" },
  ],
} as const;
