import type { CatalogueModel, ModelCatalogue } from "../engine/catalogue.ts";
import type { Output } from "./output.ts";

/** Where a model came from, as `hearth devices` says it: built-in, or its file (and whether it replaces a built-in). */
export function originOf(model: CatalogueModel): string {
  if (model.builtIn) return "built-in";
  return `${model.source}${model.replaces?.builtIn ? " (replaces the built-in)" : ""}`;
}

/** `hearth devices`: the models of the catalogue hearth runs with (built-in and from model files), each with where it came from and its entities. */
export function devicesCommand(catalogue: ModelCatalogue, output: Output, options: { json?: boolean } = {}): number {
  const models = catalogue.entries();
  if (options.json) {
    const listed = models.map((m) => ({ ...m.definition, from: m.builtIn ? "built-in" : m.source, ...(m.replaces?.builtIn ? { replaces: "built-in" } : {}) }));
    output.out(`${JSON.stringify(listed, null, 2)}\n`);
    return 0;
  }
  const lines: string[] = [];
  for (const model of models) {
    const d = model.definition;
    // A sysfs device (1-Wire) has no serial line, so no baud rate to show.
    const line = d.protocol === "onewire" ? "" : `, ${d.serial.baud} baud`;
    lines.push(`${d.model} — ${d.name} (${d.manufacturer}), protocol ${d.protocol}${line}`);
    lines.push(`  from: ${originOf(model)}`);
    if (d.description) lines.push(`  ${d.description}`);
    for (const e of d.entities) {
      const unit = "unit" in e && e.unit ? ` [${e.unit}]` : "";
      const rw = "write" in e && e.write !== undefined ? (e.kind === "button" ? "" : " (writable)") : "";
      lines.push(`  ${e.kind.padEnd(13)} ${e.key}${unit}${rw}`);
    }
    lines.push("");
  }
  output.out(lines.join("\n"));
  return 0;
}
