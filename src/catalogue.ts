/**
 * The catalogue of models hearth runs with, built here at the composition root and handed to the
 * engine and to config validation: the models built into hearth (devices/), with the user's model files
 * (src/config/model-files.ts) laid over them, a user's model replacing a built-in of its name.
 */
import { DEFINITION_SOURCES, PROBE_SIMULATORS, SIMULATORS } from "../devices/index.ts";
import { ConfigError, checkConfigInput, type LoadedConfig, readConfigInput } from "./config/load.ts";
import { type ModelFile, type ModelFiles, modelFoldersOf, readModelFolders } from "./config/model-files.ts";
import type { Config } from "./config/schema.ts";
import { type CatalogueModel, catalogueOf, checkedDefinition, type ModelCatalogue, overlaid } from "./engine/catalogue.ts";
import { replaySimulatorOf } from "./engine/replay.ts";

/** The models built into hearth, each definition checked; a broken one is a bug in hearth, reported with its file. */
export function builtInModels(): CatalogueModel[] {
  return Object.entries(DEFINITION_SOURCES).map(([model, raw]) => {
    const source = `devices/${model}/device.yaml`;
    return { definition: checkedDefinition(raw, source, model), source, builtIn: true, simulator: SIMULATORS[model], probe: PROBE_SIMULATORS[model] };
  });
}

let builtIn: ModelCatalogue | undefined;

/** The catalogue of the built-in models, checked once per process. */
export function builtInCatalogue(): ModelCatalogue {
  builtIn ??= catalogueOf(builtInModels());
  return builtIn;
}

/** A model file as the engine runs it: its definition, its file, and for `port: sim` the capture it names (`simulator.replay`), played at its line's pace. */
export function userModel(file: ModelFile): CatalogueModel {
  return { definition: file.definition, source: file.source, simulator: replaySimulatorOf(file.definition, file.source) };
}

/** The built-in models with `files` laid over them (a file's model replaces the built-in of its name). */
export function catalogueWith(files: readonly ModelFile[]): ModelCatalogue {
  return files.length === 0 ? builtInCatalogue() : overlaid(builtInCatalogue(), files.map(userModel));
}

/** A configuration as loaded, with the catalogue its devices were checked against (built-ins and its model files). */
export interface LoadedSetup extends LoadedConfig {
  catalogue: ModelCatalogue;
}

/**
 * Loads hearth.yaml with its model files, in two phases: the file is read, then the model folders it
 * names (read from it as written, so a file with other mistakes still has its models checked), then its
 * devices are checked against the resulting models. One ConfigError, naming the configuration file,
 * lists every problem of the file and of every model file (each of those starting with its own file).
 * No file: the embedded defaults and the built-in models.
 */
export async function loadSetup(file: string | undefined): Promise<LoadedSetup> {
  const { input, found } = await readWithModelFiles(file);
  const catalogue = catalogueWith(found.models);
  const names = catalogue.names();
  // A model whose file is broken is not also "unknown", nor "without a simulator", for the devices naming it: its file's problems say what is wrong.
  const broken = found.declared.filter((name) => !found.models.some((m) => m.definition.model === name) && !names.includes(name));
  const loaded = checkConfigInput(input, file, { models: [...names, ...broken], simulated: [...catalogue.simulated(), ...broken], problems: found.problems });
  return { ...loaded, catalogue };
}

/** The catalogue for a configuration already validated: the built-ins with the model files of its folders (ConfigError with every problem of them). */
export async function catalogueFor(config: Config, configFile: string | undefined): Promise<ModelCatalogue> {
  const found = await readModelFolders(modelFoldersOf(config.models, configFile));
  if (found.problems.length > 0) throw new ConfigError(configFile, found.problems);
  return catalogueWith(found.models);
}

/**
 * The models a configuration file gives hearth (`hearth devices`): the built-ins with its model files,
 * whatever else is wrong in the file, so that the list helps fix a device naming an unknown model.
 * ConfigError when the file cannot be read or a model file is bad.
 */
export async function modelsOf(file: string | undefined): Promise<ModelCatalogue> {
  const { found } = await readWithModelFiles(file);
  if (found.problems.length > 0) throw new ConfigError(file, found.problems);
  return catalogueWith(found.models);
}

/** The first phase of loading: the configuration as parsed from YAML, and the model files of the folders it names. */
async function readWithModelFiles(file: string | undefined): Promise<{ input: unknown; found: ModelFiles }> {
  const input = await readConfigInput(file);
  const given = input !== null && typeof input === "object" ? (input as { models?: unknown }).models : undefined;
  return { input, found: await readModelFolders(modelFoldersOf(given, file)) };
}
