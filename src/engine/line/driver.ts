import type { LineDeviceDefinition, LineEntity } from "../../config/device-definition.ts";
import { clip } from "../../core/clip.ts";
import { boundedWait } from "../../core/wait.ts";
import type { EntityCommand } from "../../entities/commands.ts";
import type { Entity, RawValue } from "../../entities/entity.ts";
import { STATE_ON } from "../../entities/on-off.ts";
import { DeviceError } from "../device-error.ts";
import type { Driver, DriverContext } from "../driver.ts";
import { fillTemplate, parseFields } from "./fields.ts";

interface Pending {
  resolve: (fields: Map<string, string>) => void;
  reject: (err: Error) => void;
}

const decoder = new TextDecoder("latin1");

/**
 * The driver of line-protocol devices (hearth-io and any device described the same way): every
 * line is matched against the definition's hello, report, ok and error patterns; replies find
 * their command by id; everything else is garbage, counted and skipped.
 */
export class LineDriver implements Driver {
  private readonly ctx: DriverContext;
  private readonly definition: LineDeviceDefinition;
  private readonly patterns: { hello?: RegExp; report: RegExp; ok: RegExp; error: RegExp };
  /** field name → entity keys fed by it */
  private readonly readers = new Map<string, string[]>();
  private readonly pending = new Map<string, Pending>();
  private readonly lastBrightness = new Map<string, number>();
  private nextId: number;
  private unlisten: (() => void) | undefined;

  constructor(ctx: DriverContext) {
    this.ctx = ctx;
    this.definition = ctx.definition as LineDeviceDefinition;
    const line = this.definition.line;
    this.patterns = {
      hello: line.hello === undefined ? undefined : new RegExp(line.hello),
      report: new RegExp(line.report),
      ok: new RegExp(line.ok),
      error: new RegExp(line.error),
    };
    for (const e of this.definition.entities) {
      if (e.read === undefined) continue;
      this.readers.set(e.read, [...(this.readers.get(e.read) ?? []), e.key]);
    }
    this.nextId = line.id_range[0];
  }

  async start(): Promise<void> {
    this.unlisten ??= this.ctx.transport.onFrame((frame) => this.onFrame(frame)); // once, however often started
  }

  async stop(): Promise<void> {
    this.unlisten?.();
    this.unlisten = undefined;
    for (const [, p] of this.pending) p.reject(new DeviceError("DEVICE_UNAVAILABLE", this.ctx.config.id, "driver stopped"));
    this.pending.clear();
  }

  async poll(signal: AbortSignal): Promise<void> {
    const body = this.definition.line.poll;
    if (body === undefined) return; // a device that only reports by itself
    this.ctx.report(this.readings(await this.send(body, signal)));
  }

  async execute(entity: Entity, command: EntityCommand, signal: AbortSignal): Promise<void> {
    const spec = this.definition.entities.find((e) => e.key === entity.key) as LineEntity | undefined;
    if (spec?.write === undefined) {
      throw new DeviceError("DEVICE_NOT_WRITABLE", this.ctx.config.id, `${entity.key} cannot be written`);
    }
    const body = this.commandBody(entity, spec, command);
    const fields = await this.send(body, signal);
    this.ctx.report(this.readings(fields));
  }

  private commandBody(entity: Entity, spec: LineEntity, command: EntityCommand): string {
    const write = spec.write!;
    let action = command.action;
    if (action === "toggle") action = this.ctx.currentState(entity.key) === STATE_ON ? "turn_off" : "turn_on";
    if (typeof write === "string") {
      const value = command.action === "set_value" ? command.value : "";
      return fillTemplate(write, { value });
    }
    if (action === "turn_off") return fillTemplate(write.off, {});
    if (action !== "turn_on") throw new DeviceError("DEVICE_NOT_WRITABLE", this.ctx.config.id, `${entity.key} does not take ${action}`);
    const scale = spec.kind === "light" ? (spec.brightness_scale ?? 255) : 255;
    const requested = command.action === "turn_on" ? command.brightness : undefined;
    // HA brightness is 0–255; the device's own scale may differ. Turning on without one restores the last.
    const brightness = requested !== undefined ? Math.round((requested / 255) * scale) : (this.lastBrightness.get(entity.key) ?? scale);
    return fillTemplate(write.on, { brightness: Math.max(1, brightness) });
  }

  /** Writes one command line and resolves with its reply's fields; rejects on an error reply or when `signal` fires. */
  private send(body: string, signal: AbortSignal): Promise<Map<string, string>> {
    const [low, high] = this.definition.line.id_range;
    const id = String(this.nextId);
    this.nextId = this.nextId >= high ? low : this.nextId + 1;
    const line = fillTemplate(this.definition.line.command, { id, body }) + this.definition.line.delimiter;
    return boundedWait<Map<string, string>>(
      (resolve, reject) => {
        this.pending.set(id, { resolve, reject });
        this.ctx.transport.write(line).catch(reject);
        return () => this.pending.delete(id);
      },
      { signal },
    );
  }

  private onFrame(frame: Uint8Array): void {
    const text = decoder.decode(frame).replace(/\r$/, "");
    if (text.length === 0) return;
    const { hello, report, ok, error } = this.patterns;
    let m: RegExpExecArray | null;
    if (hello !== undefined && (m = hello.exec(text)) !== null) {
      this.ctx.rebooted({ model: m.groups?.model, swVersion: m.groups?.sw_version });
      return;
    }
    if ((m = report.exec(text)) !== null) {
      this.ctx.report(this.readings(parseFields(m.groups?.fields)));
      return;
    }
    if ((m = ok.exec(text)) !== null) {
      const p = this.take(m.groups?.id);
      if (p === undefined) this.ctx.garbage(frame, "a reply to no pending command");
      else p.resolve(parseFields(m.groups?.fields));
      return;
    }
    if ((m = error.exec(text)) !== null) {
      const code = clip(m.groups?.code ?? "error", 40);
      const message = clip(m.groups?.message ?? "");
      const p = this.take(m.groups?.id);
      if (p === undefined) {
        this.ctx.logLimited("warn", "device error", { code, message }, `Device reported an error: ${code} ${message}`);
        return;
      }
      p.reject(new DeviceError("DEVICE_COMMAND_REJECTED", this.ctx.config.id, `${code}${message ? ` ${message}` : ""}`, { deviceCode: code }));
      return;
    }
    this.ctx.garbage(frame, "matches no pattern of the protocol");
  }

  private take(id: string | undefined): Pending | undefined {
    if (id === undefined) return undefined;
    const p = this.pending.get(id);
    this.pending.delete(id);
    return p;
  }

  private readings(fields: Map<string, string>): Map<string, RawValue> {
    const out = new Map<string, RawValue>();
    const noValue = this.definition.line.no_value;
    for (const [field, text] of fields) {
      const keys = this.readers.get(field);
      if (keys === undefined) continue;
      const raw: RawValue = noValue.includes(text) ? null : text;
      for (const key of keys) {
        out.set(key, raw);
        const entity = this.ctx.entities.get(key);
        if (entity?.kind === "light" && raw !== null && Number(raw) > 0) this.lastBrightness.set(key, Number(raw));
      }
    }
    return out;
  }
}
