import { createServer, type Server } from "node:net";
import { Aedes } from "aedes";
import type { Logger } from "../core/logger.ts";
import { MqttError } from "./errors.ts";

/** The port hearth's embedded broker listens on (MQTT's own) unless HEARTH_MQTT_EMBEDDED_PORT says another. */
export const EMBEDDED_BROKER_PORT = 1883;

/**
 * The embedded broker's port: HEARTH_MQTT_EMBEDDED_PORT when set (a second hearth on one machine, or a
 * test that must not take 1883), else 1883. `hearth health` reads the same variable to find it.
 */
export function embeddedBrokerPort(env: Record<string, string | undefined> = process.env): number {
  const given = env.HEARTH_MQTT_EMBEDDED_PORT;
  if (given === undefined || given === "") return EMBEDDED_BROKER_PORT;
  const port = Number(given);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new MqttError("MQTT_BAD_EMBEDDED_PORT", `HEARTH_MQTT_EMBEDDED_PORT must be a port number from 1 to 65535, not ${JSON.stringify(given.slice(0, 20))}`);
  }
  return port;
}

/**
 * An MQTT broker in hearth's own process (aedes), on 127.0.0.1, for a board with no broker configured.
 * A port already in use is refused with MQTT_BROKER_PORT_TAKEN rather than silently sharing another broker.
 */
export class EmbeddedBroker {
  private readonly deps: { log: Logger; host?: string; port?: number };
  private broker: Aedes | undefined;
  private server: Server | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  port = 0;

  constructor(deps: { log: Logger; host?: string; port?: number }) {
    this.deps = deps;
  }

  /** The URL a client connects to. */
  get url(): string {
    return `mqtt://${this.deps.host ?? "127.0.0.1"}:${this.port}`;
  }

  /** Listens, once: a second call gets the first one's promise. */
  start(): Promise<void> {
    this.starting ??= this.runStart();
    return this.starting;
  }

  private async runStart(): Promise<void> {
    const host = this.deps.host ?? "127.0.0.1";
    const wanted = this.deps.port ?? embeddedBrokerPort();
    const broker = await Aedes.createBroker();
    const server = createServer(broker.handle);
    await new Promise<void>((resolve, reject) => {
      server.once("error", (err: NodeJS.ErrnoException) => {
        broker.close();
        if (err.code === "EADDRINUSE") {
          reject(
            new MqttError(
              "MQTT_BROKER_PORT_TAKEN",
              `Cannot start the embedded MQTT broker: ${host}:${wanted} is already in use (another broker?). Set mqtt.url to use that broker, or stop whatever holds the port.`,
              { cause: err },
            ),
          );
        } else reject(err);
      });
      server.listen(wanted, host, () => resolve());
    });
    this.broker = broker;
    this.server = server;
    const address = server.address();
    this.port = typeof address === "object" && address !== null ? address.port : wanted;
    this.deps.log.info({ url: this.url }, `Embedded MQTT broker listening on ${this.url}`);
  }

  /** Closes the listener and the broker. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.starting?.catch(() => {});
      const { server, broker } = this;
      // The broker first: it closes its clients' sockets, which the listener would otherwise wait for.
      if (broker !== undefined) await new Promise<void>((resolve) => broker.close(() => resolve()));
      if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
    })();
    return this.stopping;
  }
}
