import type { LineDeviceDefinition, LineEntity } from "../../config/device-definition.ts";
import { reportPatterns } from "../../config/line-definition.ts";
import { clip } from "../../core/clip.ts";
import { boundedWait } from "../../core/wait.ts";
import type { EntityCommand } from "../../entities/commands.ts";
import type { Entity, RawValue } from "../../entities/entity.ts";
import { STATE_ON } from "../../entities/on-off.ts";
import { DeviceError } from "../device-error.ts";
import type { Driver, DriverContext } from "../driver.ts";
import { type LineChecksum, lineChecksum } from "./checksum.ts";
import { type Exchange, Exchanges } from "./exchanges.ts";
import { fillTemplate } from "./fields.ts";
import { type FieldValue, type LineFormat, lineFormat, type ReadKey } from "./format.ts";
import { EntityValues } from "./values.ts";
import { commandBody } from "./writes.ts";

const decoder = new TextDecoder("latin1");
/** Every line is a report when the model names no report pattern. */
const EVERY_LINE = /(?:)/;

/**
 * The driver of line-protocol devices (hearth-io, and any firmware described the same way): each line
 * has its checksum checked, then is matched against the model's hello, ok, error, header and report
 * patterns, and a report's fields are read in the model's format (kv, json, csv, regex) and mapped per
 * entity. Replies find their command by id, or are the next reply while the one command waits; a model
 * without `ok` sends and does not wait. Everything else is garbage, counted and skipped with a reason.
 */
export class LineDriver implements Driver {
  private readonly ctx: DriverContext;
  private readonly definition: LineDeviceDefinition;
  /** `helloWithin`: the hello pattern without its `^`, for a hello that follows the start of a line cut by a reset. */
  private readonly patterns: { hello?: RegExp; helloWithin?: RegExp; ok?: RegExp; error?: RegExp; reports: RegExp[] };
  private readonly format: LineFormat;
  private readonly checksum: LineChecksum | undefined;
  /** read key → the entities fed by it, each with its value mapping */
  private readonly readers = new Map<ReadKey, Array<{ key: string; values: EntityValues; light: boolean }>>();
  private readonly specs = new Map<string, { spec: LineEntity; values: EntityValues }>();
  private readonly exchanges: Exchanges;
  private readonly lastBrightness = new Map<string, number>();
  /** Polls waiting for the next line the driver understood. */
  private readonly listening = new Set<() => void>();
  private lastHeardAt = Number.NEGATIVE_INFINITY;
  private unlisten: (() => void) | undefined;

  constructor(ctx: DriverContext) {
    this.ctx = ctx;
    this.definition = ctx.definition as LineDeviceDefinition;
    const line = this.definition.line;
    const reports = reportPatterns(line);
    this.patterns = {
      hello: line.hello === undefined ? undefined : new RegExp(line.hello),
      helloWithin: line.hello?.startsWith("^") ? new RegExp(line.hello.slice(1)) : undefined,
      ok: line.ok === undefined ? undefined : new RegExp(line.ok),
      error: line.error === undefined ? undefined : new RegExp(line.error),
      reports: reports.length === 0 ? [EVERY_LINE] : reports.map((r) => new RegExp(r)),
    };
    this.checksum = line.checksum === undefined ? undefined : lineChecksum(line.checksum);
    for (const spec of this.definition.entities) {
      const values = new EntityValues(spec, line.no_value);
      this.specs.set(spec.key, { spec, values });
      if (spec.read !== undefined) this.readers.set(spec.read, [...(this.readers.get(spec.read) ?? []), { key: spec.key, values, light: spec.kind === "light" }]);
    }
    this.format = lineFormat(line, [...this.readers.keys()]);
    this.exchanges = new Exchanges({ deviceId: ctx.config.id, byId: line.command?.includes("{id}") === true, idRange: line.id_range ?? [1, 65535] });
  }

  async start(): Promise<void> {
    this.unlisten ??= this.ctx.transport.onFrame((frame) => this.onFrame(frame)); // once, however often started
  }

  async stop(): Promise<void> {
    this.unlisten?.();
    this.unlisten = undefined;
    this.exchanges.rejectAll(new DeviceError("DEVICE_UNAVAILABLE", this.ctx.config.id, "driver stopped"));
  }

  /**
   * Reads every entity once: sends the poll and waits for its reply (or, for a model without replies, the
   * next report); a model that only streams is asked nothing, and has answered when a line came within
   * the poll interval or comes before the timeout — how the engine learns that a device went quiet.
   */
  async poll(signal: AbortSignal): Promise<void> {
    const body = this.definition.line.poll;
    if (body !== undefined && this.patterns.ok !== undefined) {
      this.ctx.report(await this.send(body, signal));
      return;
    }
    if (body === undefined) {
      const interval = (this.ctx.config.poll_interval ?? this.definition.poll_interval) * 1000;
      if (performance.now() - this.lastHeardAt <= interval) return;
    }
    const next = this.nextLine(signal);
    if (body !== undefined) await this.ctx.transport.write(this.commandLine(body, undefined));
    await next;
  }

  async execute(entity: Entity, command: EntityCommand, signal: AbortSignal): Promise<void> {
    const found = this.specs.get(entity.key);
    if (found?.spec.write === undefined) throw new DeviceError("DEVICE_NOT_WRITABLE", this.ctx.config.id, `${entity.key} cannot be written`);
    const body = commandBody(found.spec, command, {
      deviceId: this.ctx.config.id,
      values: found.values,
      isOn: this.ctx.currentState(entity.key) === STATE_ON,
      lastBrightness: this.lastBrightness.get(entity.key),
    });
    this.ctx.report(await this.send(body, signal));
  }

  /** Writes one command line; resolves with its reply's fields (none for a model without replies), rejects on an error reply or when `signal` fires. */
  private async send(body: string, signal: AbortSignal): Promise<Map<string, RawValue>> {
    if (this.patterns.ok === undefined) {
      // Fire and forget: the next report confirms the state.
      await this.ctx.transport.write(this.commandLine(body, undefined));
      return new Map();
    }
    return this.exchanges.run((id) => this.ctx.transport.write(this.commandLine(body, id)), signal);
  }

  private commandLine(body: string, id: string | undefined): string {
    const text = fillTemplate(this.definition.line.command!, id === undefined ? { body } : { id, body });
    const line = this.definition.line;
    return (line.checksum?.commands && this.checksum !== undefined ? this.checksum.append(text) : text) + line.delimiter;
  }

  /** Resolves at the next line the driver understands (a report, a reply, a boot, a header). */
  private nextLine(signal: AbortSignal): Promise<void> {
    return boundedWait<void>(
      (resolve) => {
        const done = () => resolve();
        this.listening.add(done);
        return () => this.listening.delete(done);
      },
      { signal },
    );
  }

  private heard(): void {
    this.lastHeardAt = performance.now();
    for (const wake of this.listening) wake();
    this.listening.clear();
  }

  private onFrame(frame: Uint8Array): void {
    let text = withoutLeadingControls(decoder.decode(frame));
    if (text.endsWith("\r")) text = text.slice(0, -1);
    if (text.length === 0) return;
    if (this.checksum !== undefined) {
      const verified = this.checksum.verify(text);
      if (!verified.ok) return this.ctx.garbage(frame, verified.why, verified.mismatch ? "checksum" : undefined);
      text = verified.text;
    }
    const { hello, ok, error, reports } = this.patterns;
    let m: RegExpExecArray | null;
    // A board reset while it sent a line starts its hello on that line, after the line's beginning.
    if (hello !== undefined && ((m = hello.exec(text)) !== null || (m = this.patterns.helloWithin?.exec(text) ?? null) !== null)) {
      this.heard();
      this.ctx.rebooted({ model: m.groups?.model, swVersion: m.groups?.sw_version });
      return;
    }
    let strayReply = false;
    if (ok !== undefined && (m = ok.exec(text)) !== null) {
      const exchange = this.exchanges.take(m.groups?.id);
      if (exchange !== undefined) return this.replied(exchange, m);
      if (this.exchanges.byId) return this.ctx.garbage(frame, "a reply to no pending command");
      strayReply = true; // no command waits: the line may still be a report
    }
    if (error !== undefined && (m = error.exec(text)) !== null) return this.failed(m);
    const header = this.format.header?.(text);
    if (header?.header) {
      if (!header.ok) return this.ctx.garbage(frame, header.why);
      // Neither a reading nor garbage: said in the log (and so to `hearth try`), rate-limited.
      this.ctx.logLimited("info", "csv header", { columns: header.columns.map((c) => clip(c, 40)) }, `Header line: the columns are ${clip(header.columns.join(", "))}`);
      return this.heard();
    }
    for (const pattern of reports) {
      if ((m = pattern.exec(text)) === null) continue;
      const readings = new Map<string, RawValue>();
      const parsed = this.format.parse(fieldsText(m, text), m, (key, value) => this.read(readings, key, value));
      if (!parsed.ok) return this.ctx.garbage(frame, parsed.why);
      this.heard();
      this.ctx.report(readings);
      return;
    }
    this.ctx.garbage(frame, strayReply ? "a reply (line.ok) while no command waits" : "no pattern matched");
  }

  private replied(exchange: Exchange, m: RegExpExecArray): void {
    this.heard();
    const readings = new Map<string, RawValue>();
    const groups = m.groups ?? {};
    if (this.definition.line.format === "regex" || groups.fields !== undefined) {
      const parsed = this.format.parse(groups.fields ?? "", m, (key, value) => this.read(readings, key, value));
      // A reply's fields that make no sense do not undo the reply (kv: `OK 5 pong` has none).
      if (!parsed.ok) this.ctx.logLimited("debug", "reply fields", { why: parsed.why }, "A reply's fields were not read");
    }
    exchange.resolve(readings);
  }

  private failed(m: RegExpExecArray): void {
    const code = clip(m.groups?.code ?? "error", 40);
    const message = clip(m.groups?.message ?? "");
    const exchange = this.exchanges.take(m.groups?.id);
    this.heard();
    if (exchange === undefined) {
      this.ctx.logLimited("warn", "device error", { code, message }, `Device reported an error: ${code} ${message}`);
      return;
    }
    exchange.reject(new DeviceError("DEVICE_COMMAND_REJECTED", this.ctx.config.id, `${code}${message ? ` ${message}` : ""}`, { deviceCode: code }));
  }

  /** One field's value into the readings of the entities that read it, each mapped as its model says. */
  private read(readings: Map<string, RawValue>, field: ReadKey, value: FieldValue): void {
    const readers = this.readers.get(field);
    if (readers === undefined) return;
    for (const { key, values, light } of readers) {
      const raw = values.read(value);
      readings.set(key, raw);
      if (light && raw !== null && Number(raw) > 0) this.lastBrightness.set(key, Number(raw));
    }
  }
}

/** The text a report's format reads: its `fields` group when the pattern has one, else the whole line. */
function fieldsText(m: RegExpExecArray, line: string): string {
  return m.groups !== undefined && "fields" in m.groups ? (m.groups.fields ?? "") : line;
}

/**
 * A line without the control characters (tab aside) before its text: what a board's reset leaves ahead
 * of its first line (an Uno's bootloader answers the bytes hearth sent as the port opened with STK500's
 * 0x14 0x10, a UART waking up sends a NUL), which would otherwise hide its hello. A text protocol's line
 * never begins with one.
 */
function withoutLeadingControls(text: string): string {
  let start = 0;
  while (start < text.length && text.charCodeAt(start) < 0x20 && text.charCodeAt(start) !== 0x09) start++;
  return start === 0 ? text : text.slice(start);
}
