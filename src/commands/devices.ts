import type { ModelCatalogue } from "../engine/catalogue.ts";
import type { Output } from "./output.ts";

/** `hearth devices`: the models of the catalogue hearth runs with, with their entities. */
export function devicesCommand(catalogue: ModelCatalogue, output: Output, options: { json?: boolean } = {}): number {
  const definitions = catalogue.definitions();
  if (options.json) {
    output.out(`${JSON.stringify(definitions, null, 2)}\n`);
    return 0;
  }
  const lines: string[] = [];
  for (const d of definitions) {
    // A sysfs device (1-Wire) has no serial line, so no baud rate to show.
    const line = d.protocol === "onewire" ? "" : `, ${d.serial.baud} baud`;
    lines.push(`${d.model} — ${d.name} (${d.manufacturer}), protocol ${d.protocol}${line}`);
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
