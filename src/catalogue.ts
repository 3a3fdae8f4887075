/**
 * The catalogue of models hearth runs with, built here at the composition root and handed to the
 * engine and to config validation. Its one source today is the models built into hearth (devices/);
 * model files from folders will be further sources of catalogueOf.
 */
import { DEFINITION_SOURCES, PROBE_SIMULATORS, SIMULATORS } from "../devices/index.ts";
import { type CatalogueModel, catalogueOf, checkedDefinition, type ModelCatalogue } from "./engine/catalogue.ts";

/** The models built into hearth, each definition checked; a broken one is a bug in hearth, reported with its file. */
export function builtInModels(): CatalogueModel[] {
  return Object.entries(DEFINITION_SOURCES).map(([model, raw]) => {
    const source = `devices/${model}/device.yaml`;
    return { definition: checkedDefinition(raw, source, model), source, simulator: SIMULATORS[model], probe: PROBE_SIMULATORS[model] };
  });
}

let builtIn: ModelCatalogue | undefined;

/** The catalogue of the built-in models, checked once per process. */
export function builtInCatalogue(): ModelCatalogue {
  builtIn ??= catalogueOf(builtInModels());
  return builtIn;
}
