#!/usr/bin/env bun
import "./preload.ts"; // first: see its comment
import { homedir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { builtInCatalogue, loadSetup, modelsOf } from "./catalogue.ts";
import { checkConfigCommand } from "./commands/check-config.ts";
import { devicesCommand } from "./commands/devices.ts";
import { firmwareCommand } from "./commands/firmware.ts";
import { fleetCommand } from "./commands/fleet.ts";
import { healthCommand } from "./commands/health.ts";
import { processOutput } from "./commands/output.ts";
import { portsCommand } from "./commands/ports.ts";
import { schemaCommand } from "./commands/schema.ts";
import { simCommand } from "./commands/sim.ts";
import { tryCommand } from "./commands/try.ts";
import { FleetFileError, readFleetFile } from "./config/fleet-file.ts";
import { ConfigError, loadConfig } from "./config/load.ts";
import { BrokerUrlSchema } from "./config/schema.ts";
import { isHearthError } from "./core/errors.ts";
import type { ModelCatalogue } from "./engine/catalogue.ts";
import { keepSimulatorRecords, SERVICE_RECORD_MAX } from "./engine/simulator.ts";
import { sharedReaderPool } from "./serial/reader-pool.ts";
import { startService } from "./service.ts";
import { VERSION } from "./version.ts";
import { workerScript } from "./worker-entries.ts";

const USAGE = `hearth ${VERSION} — serial devices on single-board computers, bridged to MQTT

Usage: hearth <command> [options]

Commands:
  run [--config FILE]    run the service (without --config: the embedded defaults)
  check-config [FILE]    validate a hearth.yaml (default: /etc/hearth/hearth.yaml if there is one, else the
                         embedded defaults): exit 0 with a summary, or 2 with every problem
  schema [--model]       print the JSON Schema of hearth.yaml, or of a model file (for editors)
  devices [--config FILE] [--json]
                         list the device models hearth knows (built-in, and the model files of the config,
                         as for check-config), each with where it came from and its entities
  sim MODEL [--config FILE] [--count N] [--interval MS]
                         run a model's simulator and print its ports (pseudo-terminals, or 1-Wire probe folders)
  sim --replay CAPTURE [--baud N | --rate LINES] [--loop]
                         play a capture (raw bytes recorded from a device) onto a new pseudo-terminal and print
                         its path. Paced as a line of N baud carries bytes (10 bits a byte; default 9600), or
                         LINES lines a second; lines at the top starting with # (a recorder's notes) are not
                         played. It plays while someone reads the port (waiting for the first reader), says
                         on stderr when the capture has been played, and keeps the port open until Ctrl-C
                         (--loop: plays it again from the start, on and on)
  try MODELFILE --port PORT [--baud N] [--no-poll] [--json] [--option KEY=VALUE]
                         run one model file on a port as hearth would and show what each line became: the
                         entities it set (or why a reading or the line was skipped); polls as the model says
                         (--no-poll: none; type get to poll). Commands typed on stdin are sent as hearth sends
                         them (relay1 ON, led ON 128, setpoint 21.5, restart; help lists them). PORT sim plays
                         the model's capture (simulator.replay) or built-in simulator. The end of stdin stops
                         nothing; Ctrl-C does (exit 0); 1: the port cannot be opened; 2: a bad model file
  ports [--json]         list the serial ports present, with the by-id path to configure
  health [--config FILE] [--json] [--grace S]
                         ask the running hearth over MQTT how it is (its broker and topics from the config,
                         as for check-config): exit 0 healthy, 1 unhealthy, 3 no answer, 4 starting (a
                         device not loaded or available yet, within S seconds, default 30, of hearth's
                         start or its own set-up)
  firmware DEVICE FILE.hex [--config FILE] [--expect-version V] [--json]
                         update a device's firmware through the running hearth (over MQTT, as health does):
                         hearth closes the device's link, writes the image with avrdude, and waits for the
                         device's hello (with --expect-version: saying V); one that does not come is rolled back to
                         the image before. Exit 0 updated, 1 not updated (refused, rolled back, failed),
                         2 the file is not a valid Intel HEX image, 3 no answer
  fleet [--config FILE] [--broker URL]... [--fleet FLEETFILE] [--json] [--watch]
                         every hearth on the broker under the base topic's prefix (hearth/+), from their
                         retained bridge topics: online or offline and since when, version, uptime, devices
                         available of configured, loop lag, outbox, broker node; --watch redraws it as it
                         changes (--json: a JSON line each time). --broker: a broker instead of the
                         config's; again for each node of a cluster (every node is read). --fleet: deploy's
                         fleet file; each host's node is listed by name, missing if the broker has nothing
                         of it (and found on RabbitMQ, which gives wildcards no retained messages). Exit 0 every node online and every device
                         available, 1 not (or no node found), 3 the broker cannot be reached
  help                   show this help
  version                print the version

Options:
  -c, --config FILE      hearth.yaml to use
  -h, --help             show this help
  -v, --version          print the version
`;

/** Where deploy/flash and deploy/deploy put a board's configuration. */
const BOARD_CONFIG = "/etc/hearth/hearth.yaml";

/** For `health` and `check-config` without a file: the board's configuration when there is one (else the embedded defaults). */
async function boardConfig(): Promise<string | undefined> {
  return (await Bun.file(BOARD_CONFIG).exists()) ? BOARD_CONFIG : undefined;
}

/** The configuration as `load` validates it, or undefined after printing why it is invalid (the caller exits 2). */
async function configOrExit<T>(file: string | undefined, load: (file: string | undefined) => Promise<T>): Promise<T | undefined> {
  try {
    return await load(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`hearth: invalid configuration\n${err.message}\n`);
    return undefined;
  }
}

/** The models a configuration gives hearth (the built-ins and its model files), or undefined after printing why its model files are bad (the caller exits 2). */
async function modelsOrExit(file: string | undefined): Promise<ModelCatalogue | undefined> {
  try {
    return await modelsOf(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`hearth: invalid model files\n${err.message}\n`);
    return undefined;
  }
}

/** Exit codes: 0 ok, 1 failure, 2 bad usage or bad configuration. */
async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: "string", short: "c" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
        json: { type: "boolean" },
        count: { type: "string" },
        interval: { type: "string" },
        grace: { type: "string" },
        model: { type: "boolean" },
        replay: { type: "string" },
        rate: { type: "string" },
        baud: { type: "string" },
        loop: { type: "boolean" },
        port: { type: "string" },
        "no-poll": { type: "boolean" },
        "expect-version": { type: "string" },
        option: { type: "string", multiple: true },
        broker: { type: "string", multiple: true },
        watch: { type: "boolean" },
        fleet: { type: "string" },
      },
    });
  } catch (err) {
    process.stderr.write(`hearth: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const command = positionals[0] ?? (values.version ? "version" : "help");
  if (values.help || command === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  switch (command) {
    case "version":
      process.stdout.write(`${VERSION}\n`);
      return 0;
    case "check-config":
      return checkConfigCommand(positionals[1] ?? values.config ?? (await boardConfig()), loadSetup, processOutput);
    case "schema":
      return schemaCommand(processOutput, { model: values.model });
    case "sim": {
      keepSimulatorRecords(SERVICE_RECORD_MAX);
      // Its pseudo-terminals are read by reader Workers, which inside a binary start on the bundled entry.
      sharedReaderPool.configure({ workerScript: workerScript("executor") });
      // A model file that names a capture is simulated too: the models of the configuration, as devices lists them.
      const models = values.replay === undefined ? await modelsOrExit(values.config ?? (await boardConfig())) : builtInCatalogue();
      if (models === undefined) return 2;
      return simCommand(models, positionals[1], { count: values.count, interval: values.interval, replay: values.replay, rate: values.rate, baud: values.baud, loop: values.loop }, processOutput);
    }
    case "try": {
      sharedReaderPool.configure({ workerScript: workerScript("executor") });
      // Handlers first: a Ctrl-C during start-up still closes the port.
      const stopped = new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
      const options = { port: values.port, baud: values.baud, noPoll: values["no-poll"], json: values.json, option: values.option };
      return tryCommand(positionals[1], options, { output: processOutput, input: process.stdin, catalogue: builtInCatalogue(), stopped, executorScript: workerScript("executor") });
    }
    case "devices": {
      const models = await modelsOrExit(values.config ?? (await boardConfig()));
      if (models === undefined) return 2;
      return devicesCommand(models, processOutput, { json: values.json });
    }
    case "ports":
      return portsCommand(processOutput, { json: values.json });
    case "health": {
      // It needs the broker and the topics only: a model file being edited must not make the running hearth look broken.
      const config = await configOrExit(values.config ?? (await boardConfig()), loadConfig);
      if (config === undefined) return 2;
      const graceS = values.grace === undefined ? undefined : Number(values.grace);
      if (graceS !== undefined && !(Number.isFinite(graceS) && graceS >= 0)) {
        process.stderr.write(`hearth: --grace: expected seconds, a number from 0, got ${JSON.stringify(values.grace)}\n`);
        return 2;
      }
      return healthCommand(config, processOutput, { json: values.json, graceS });
    }
    case "firmware": {
      const config = await configOrExit(values.config ?? (await boardConfig()), loadConfig);
      if (config === undefined) return 2;
      return firmwareCommand(config, positionals[1], positionals[2], processOutput, { version: values["expect-version"], json: values.json });
    }
    case "fleet": {
      // Like health: only the broker and the topics of the config matter.
      const config = await configOrExit(values.config ?? (await boardConfig()), loadConfig);
      if (config === undefined) return 2;
      const bad = (values.broker ?? []).find((url) => !BrokerUrlSchema.safeParse(url).success);
      if (bad !== undefined) {
        // Not echoed: a mistyped URL may still carry a password.
        process.stderr.write("hearth: --broker: expected a broker URL such as mqtt://host:1883 or mqtts://host:8883 (mqtt, mqtts, ws or wss)\n");
        return 2;
      }
      const stopped = new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
      let nodes: string[] | undefined;
      if (values.fleet !== undefined) {
        try {
          const hosts = await readFleetFile(values.fleet);
          nodes = hosts.flatMap((h) => (h.node === undefined ? [] : [h.node]));
          const unnamed = hosts.filter((h) => h.node === undefined).map((h) => h.label);
          if (nodes.length === 0) {
            process.stderr.write(`hearth: --fleet ${values.fleet}: no host has a node (add node: <its node_id> to each)\n`);
            return 2;
          }
          if (unnamed.length > 0) process.stderr.write(`hearth fleet: no node given for ${unnamed.join(", ")} in ${values.fleet}; listed only if found\n`);
        } catch (err) {
          if (!(err instanceof FleetFileError)) throw err;
          process.stderr.write(`hearth: ${err.message}\n`);
          return 2;
        }
      }
      return fleetCommand(config, processOutput, { brokers: values.broker, nodes, json: values.json, watch: values.watch, stopped });
    }
    case "run": {
      // Its `port: sim` simulators' records are read by no one here.
      keepSimulatorRecords(SERVICE_RECORD_MAX);
      const setup = await configOrExit(values.config, loadSetup);
      if (setup === undefined) return 2;
      try {
        await startService(setup.config, { configFile: values.config, catalogue: setup.catalogue, signals: true, dataDir: dataDir() });
      } catch (err) {
        if (isHearthError(err, "MQTT_BROKER_PORT_TAKEN")) {
          process.stderr.write(`hearth: ${err.message}\n`);
          return 1;
        }
        if (isHearthError(err, "HTTP_PORT_TAKEN")) {
          process.stderr.write(`hearth: ${err.message}\n`);
          return 1;
        }
        if (err instanceof ConfigError) {
          process.stderr.write(`hearth: invalid configuration\n${err.message}\n`);
          return 2;
        }
        if (isHearthError(err, "MQTT_BAD_EMBEDDED_PORT") || isHearthError(err, "HTTP_BAD_LISTEN") || isHearthError(err, "HTTP_AUTH_REQUIRED")) {
          process.stderr.write(`hearth: ${err.message}\n`);
          return 2;
        }
        throw err;
      }
      return -1; // keeps running; the signal handlers exit
    }
    default:
      process.stderr.write(`hearth: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

/** Where the database lives: HEARTH_DATA_DIR, systemd's STATE_DIRECTORY, or ~/.local/state/hearth. */
function dataDir(): string {
  return process.env.HEARTH_DATA_DIR || process.env.STATE_DIRECTORY?.split(":")[0] || join(homedir(), ".local", "state", "hearth");
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err) => {
    process.stderr.write(`hearth: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
