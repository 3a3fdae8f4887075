import { HearthError } from "../core/errors.ts";
import type { Hub } from "../core/hub.ts";
import type { Logger } from "../core/logger.ts";
import { SerialLink } from "../serial/link.ts";
import { openPty, type Pty } from "../serial/pty.ts";
import type { ConfigEntry } from "./config-entry.ts";
import type { PortProvider } from "./manager.ts";
import type { ProbeSimulator, Simulator, SimulatorFactory } from "./simulator.ts";
import type { TransportFactory } from "./transport.ts";

/** Transports on real serial ports (termios, reader Workers, reconnect). */
export function serialTransports(deps: { hub: Hub; log: Logger }): TransportFactory {
  return ({ path, serial, framing }) => new SerialLink({ hub: deps.hub, log: deps.log.child({ port: path }) }, { path, serial, framing });
}

/** A model's simulator running on a new pseudo-terminal: hearth opens `pty.path` like any port. */
export interface SimulatedPort {
  pty: Pty;
  simulator: Simulator;
  stop(): Promise<void>;
}

/** Starts a model's simulator (`catalogue.simulator(model)`) on a new pseudo-terminal. */
export function startSimulator(make: SimulatorFactory, options: Record<string, unknown> = {}): SimulatedPort {
  const pty = openPty();
  // A write fails only once the pty is closing: the simulator is being stopped anyway.
  const simulator = make({ write: (bytes) => pty.write(bytes).catch(() => {}), unread: () => pty.unread() }, options);
  // The simulator consumes each chunk during the call, so the reader's view needs no copy.
  const unlisten = pty.listen({ data: (chunk) => simulator.receive(chunk), error: () => simulator.stop() });
  simulator.start();
  let stopped: Promise<void> | undefined;
  return {
    pty,
    simulator,
    stop() {
      stopped ??= (async () => {
        simulator.stop();
        unlisten();
        await pty.close();
      })();
      return stopped;
    },
  };
}

/** Ports as configured; `sim` gets the entry's model's simulator on a pseudo-terminal of its own. */
export class ConfiguredPorts implements PortProvider {
  /** Simulators running for `sim` devices, by device id (tests reach in to press buttons). */
  readonly simulators = new Map<string, SimulatedPort>();
  /** Simulated sysfs probes (ds18b20) for `sim` devices, by device id; their port is the probe's folder. */
  readonly probes = new Map<string, ProbeSimulator>();

  async acquire(entry: ConfigEntry): Promise<{ path: string; release: () => Promise<void> }> {
    if (entry.config.port !== "sim") return { path: entry.config.port, release: async () => {} };
    const { model } = entry;
    if (model.probe !== undefined) {
      const probe = model.probe(entry.config.options);
      probe.start();
      this.probes.set(entry.id, probe);
      return {
        path: probe.folder,
        release: async () => {
          if (this.probes.get(entry.id) === probe) this.probes.delete(entry.id);
          probe.stop();
        },
      };
    }
    // Config validation refuses `port: sim` for a model without a simulator; this says so if one got through.
    if (model.simulator === undefined) throw new HearthError("DEVICE_NO_SIMULATOR", `no simulator for model ${entry.config.model} (${model.source}), so no port sim for ${entry.id}`);
    const sim = startSimulator(model.simulator, entry.config.options);
    this.simulators.set(entry.id, sim);
    return {
      path: sim.pty.path,
      release: async () => {
        if (this.simulators.get(entry.id) === sim) this.simulators.delete(entry.id);
        await sim.stop();
      },
    };
  }
}
