import { jsonPath } from "../../config/line-definition.ts";
import type { FieldSink, LineFormat, Parsed, ReadKey } from "./format.ts";

/**
 * One JSON object per line; an entity reads a path into it (`sensors.bme280.temp`, `values[0]`).
 * Numbers, booleans and strings are read as they are, null is no reading, an object or array as its
 * JSON text; a path the line lacks sets nothing. A line that is not a JSON object is garbage.
 */
export class JsonFormat implements LineFormat {
  private readonly paths: Array<{ key: ReadKey; path: Array<string | number> }>;

  constructor(reads: readonly ReadKey[]) {
    this.paths = reads.flatMap((key) => {
      const path = typeof key === "string" ? jsonPath(key) : undefined;
      return path === undefined ? [] : [{ key, path }];
    });
  }

  parse(text: string, _match: RegExpExecArray, sink: FieldSink): Parsed {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      return { ok: false, why: `not a JSON object: ${(err as Error).message}` };
    }
    if (doc === null || typeof doc !== "object" || Array.isArray(doc)) return { ok: false, why: `not a JSON object: ${doc === null ? "null" : Array.isArray(doc) ? "an array" : `a ${typeof doc}`}` };
    for (const { key, path } of this.paths) {
      let v: unknown = doc;
      for (const step of path) {
        if (v === null || typeof v !== "object") {
          v = undefined;
          break;
        }
        v = (v as Record<string | number, unknown>)[step];
      }
      if (v === undefined) continue;
      sink(key, v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? v : JSON.stringify(v));
    }
    return { ok: true };
  }
}
