/**
 * For the line-protocol tests: a firmware played by the test on a real pseudo-terminal (bytes written to
 * hearth, the lines hearth sends collected and answerable), models written as YAML as a user writes
 * them, and a line driver on a real serial link with a context that records what each line became.
 */
import { builtInModels } from "../../src/catalogue.ts";
import { type DeviceDefinition, serialSettingsOf } from "../../src/config/device-definition.ts";
import type { DeviceConfig } from "../../src/config/schema.ts";
import { Hub } from "../../src/core/hub.ts";
import { catalogueOf, checkedDefinition, type ModelCatalogue } from "../../src/engine/catalogue.ts";
import type { DriverContext } from "../../src/engine/driver.ts";
import { LineDriver } from "../../src/engine/line/driver.ts";
import { framingOf } from "../../src/engine/protocols.ts";
import type { RawValue } from "../../src/entities/entity.ts";
import { Entity } from "../../src/entities/entity.ts";
import { SerialLink } from "../../src/serial/link.ts";
import { openPty, type Pty } from "../../src/serial/pty.ts";

const latin1 = new TextDecoder("latin1");

/** A firmware on the device's end of a pty: `send` writes lines to hearth, `received` holds the lines hearth wrote, `answer` replies to them. */
export class FirmwarePeer {
  readonly pty: Pty;
  /** Every line hearth sent, in order (line ending removed). */
  readonly received: string[] = [];
  /** Called with each line hearth sends; what it returns (lines) is sent back. */
  answer: (line: string) => string[] = () => [];
  private readonly delimiter: string;
  private buffer = "";
  private unlisten: (() => void) | undefined;

  constructor(pty: Pty, delimiter: string) {
    this.pty = pty;
    this.delimiter = delimiter;
  }

  /** A firmware on a new pty, reading what hearth sends. */
  static open(delimiter = "\n"): FirmwarePeer {
    const peer = new FirmwarePeer(openPty(), delimiter);
    peer.unlisten = peer.pty.listen({ data: (chunk) => peer.receive(chunk), error: () => {} });
    return peer;
  }

  get path(): string {
    return this.pty.path;
  }

  /** Writes lines to hearth, each with the delimiter. */
  send(...lines: string[]): Promise<void> {
    return this.pty.write(lines.map((l) => `${l}${this.delimiter}`).join(""));
  }

  async close(): Promise<void> {
    this.unlisten?.();
    this.unlisten = undefined;
    await this.pty.close();
  }

  private receive(chunk: Uint8Array): void {
    this.buffer += latin1.decode(chunk);
    let at: number;
    while ((at = this.buffer.indexOf(this.delimiter)) >= 0) {
      const line = this.buffer.slice(0, at);
      this.buffer = this.buffer.slice(at + this.delimiter.length);
      this.received.push(line);
      const replies = this.answer(line);
      if (replies.length > 0) void this.send(...replies);
    }
  }
}

/** A model's definition from its YAML text, checked as a model file is (throws the message a user reads). */
export function modelOf(yaml: string, source = "models/test.yaml"): DeviceDefinition {
  return checkedDefinition(Bun.YAML.parse(yaml), source);
}

/** A catalogue of the built-in models and these. */
export function catalogueWith(...definitions: DeviceDefinition[]): ModelCatalogue {
  return catalogueOf(
    builtInModels(),
    definitions.map((definition) => ({ definition, source: `models/${definition.model}.yaml` })),
  );
}

/** What a driver made of the lines: the readings it reported and the lines it skipped, with why. */
export interface DriverRecord {
  reports: Array<Map<string, RawValue>>;
  garbage: Array<{ line: string; why: string }>;
  logged: string[];
  reboots: Array<{ model?: string; swVersion?: string }>;
}

/** A line driver of `definition` on a real serial link to `peer`, as `hearth try` builds one: the context records every report and skip. */
export async function lineDriverOn(definition: DeviceDefinition, peer: FirmwarePeer, cleanups: Array<() => Promise<void>>, states: Map<string, string> = new Map()) {
  const hub = new Hub();
  const config = { id: "dev", model: definition.model, port: peer.path, options: {} } as DeviceConfig;
  const link = new SerialLink({ hub }, { path: peer.path, serial: serialSettingsOf(definition, config), framing: framingOf(definition) });
  cleanups.push(() => link.close());
  await link.open();
  const record: DriverRecord = { reports: [], garbage: [], logged: [], reboots: [] };
  const entities = new Map(definition.entities.map((d) => [d.key, new Entity({ description: d, nodeId: "test", deviceId: "dev" })]));
  const context: DriverContext = {
    config,
    definition,
    entities,
    transport: link,
    log: hub.log,
    report: (readings) => void record.reports.push(new Map(readings)),
    rebooted: (info) => void record.reboots.push(info),
    garbage: (frame, why) => void record.garbage.push({ line: latin1.decode(frame), why }),
    logLimited: (_level, _key, _fields, message) => void record.logged.push(message),
    runBlocking: () => Promise.reject(new Error("no executor here")),
    currentState: (key) => states.get(key),
  };
  const driver = new LineDriver(context);
  await driver.start();
  cleanups.push(() => driver.stop());
  return { driver, record, entities };
}
