/**
 * The configuration `hearth run` uses without --config (so `npm start` on a fresh clone shows hearth
 * working): simulated devices on pseudo-terminals, their state changes in the log.
 */
export const DEFAULT_CONFIG = {
  log_states: true,
  devices: [{ id: "demo_board", name: "Demo board", model: "hearth-io", port: "sim", poll_interval: 30, options: { interval: 5000 } }],
} as const;
