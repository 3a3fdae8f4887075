import type { LineEntity } from "../../config/line-definition.ts";
import type { RawValue } from "../../entities/entity.ts";
import { parseOnOff } from "../../entities/on-off.ts";
import type { FieldValue } from "./format.ts";

/** Twelve significant digits: what a scaled reading keeps, so that 215 × 0.1 is 21.5 and not 21.500000000000004. */
const DIGITS = 12;

/**
 * One entity's value mapping, both ways: a field's value becomes its reading (no value → null, the
 * model's table, then `raw × scale + offset`), and a command's value becomes the text a write template
 * gets as `{value}` (the table backwards, then `(value − offset) / scale`).
 */
export class EntityValues {
  private readonly noValue: ReadonlySet<string>;
  private readonly map: Readonly<Record<string, string | number | boolean>> | undefined;
  private readonly scale: number;
  private readonly offset: number;
  private readonly scaled: boolean;
  /** Whether a JSON number or boolean may be one of the words (a `-1` meaning no value, a `1` in the table): else it is never made text. */
  private readonly wordsForScalars: boolean;

  constructor(spec: Pick<LineEntity, "no_value" | "map" | "scale" | "offset">, protocolNoValue: readonly string[]) {
    this.noValue = new Set([...protocolNoValue, ...(spec.no_value ?? [])]);
    this.map = spec.map;
    this.scale = spec.scale ?? 1;
    this.offset = spec.offset ?? 0;
    this.scaled = spec.scale !== undefined || spec.offset !== undefined;
    const scalar = (word: string) => word === "true" || word === "false" || (word.trim() !== "" && Number.isFinite(Number(word)));
    this.wordsForScalars = [...this.noValue, ...Object.keys(this.map ?? {})].some(scalar);
  }

  /** The reading a field's value gives; a word not in the table is read as it is (the entity then judges it). */
  read(value: FieldValue): RawValue {
    if (value === null) return null;
    if (typeof value === "string" || this.wordsForScalars) {
      const text = typeof value === "string" ? value : String(value);
      if (this.noValue.has(text)) return null;
      if (this.map !== undefined && Object.hasOwn(this.map, text)) return this.map[text]!;
    }
    if (!this.scaled || typeof value === "boolean") return value;
    const n = typeof value === "number" ? value : value.trim() === "" ? Number.NaN : Number(value);
    return Number.isFinite(n) ? Number((n * this.scale + this.offset).toPrecision(DIGITS)) : value;
  }

  /** A number command's `{value}`: the table's word for it, or the raw number. */
  number(value: number): string {
    const word = this.wordFor((v) => v === value || (typeof v === "string" && v.trim() !== "" && Number(v) === value));
    if (word !== undefined) return word;
    return String(this.scaled ? Number(((value - this.offset) / this.scale).toPrecision(DIGITS)) : value);
  }

  /** An on/off command's `{value}`: the table's word for ON or OFF, or 1 / 0. */
  onOff(on: boolean): string {
    return this.wordFor((v) => (typeof v === "boolean" ? v : typeof v === "number" ? v === 1 : parseOnOff(v.toLowerCase())) === on) ?? (on ? "1" : "0");
  }

  private wordFor(means: (v: string | number | boolean) => boolean): string | undefined {
    if (this.map === undefined) return undefined;
    for (const [word, v] of Object.entries(this.map)) if (means(v)) return word;
    return undefined;
  }
}
