/**
 * The configuration `hearth run` uses without --config (so `npm start` on a fresh clone shows hearth
 * working): one simulated device of each model that has a simulator, on pseudo-terminals, the
 * embedded MQTT broker, and state changes in the log.
 */
export const DEFAULT_CONFIG = {
  log_states: true,
  devices: [
    { id: "demo_board", name: "Demo board", model: "hearth-io", port: "sim", poll_interval: 30, options: { interval: 5000 } },
    { id: "demo_gps", name: "Demo GPS", model: "nmea-gps", port: "sim" },
    { id: "demo_meter", name: "Demo meter", model: "eastron-sdm120", port: "sim", poll_interval: 10 },
  ],
} as const;
