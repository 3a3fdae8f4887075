/**
 * The models the engine can run, each with its definition and its simulator: a value the composition
 * root builds (src/catalogue.ts) from one source or several and hands to the engine, so the engine
 * never imports the models (devices/) itself.
 */
import type { DeviceDefinition } from "../config/device-definition.ts";
import { checkDefinition } from "../config/model-files.ts";
import { HearthError } from "../core/errors.ts";
import type { ProbeSimulatorFactory, SimulatorFactory } from "./simulator.ts";

/** One model of a catalogue: its checked definition, where it came from, and how to simulate it for `port: sim`. */
export interface CatalogueModel {
  readonly definition: DeviceDefinition;
  /** Where the definition came from, for messages (`devices/ds18b20/device.yaml`, a model file's absolute path). */
  readonly source: string;
  /** Built into hearth (devices/), rather than read from a model file. */
  readonly builtIn?: boolean | undefined;
  /** The model of the same name this one replaces (a user's model file over a built-in). */
  readonly replaces?: CatalogueModel | undefined;
  /** Its simulator on a pseudo-terminal, for a serial model that has one. */
  readonly simulator?: SimulatorFactory | undefined;
  /** Its simulated probe folder, for a model read through sysfs (1-Wire). */
  readonly probe?: ProbeSimulatorFactory | undefined;
}

/** The models the engine runs, by model name. */
export class ModelCatalogue {
  private readonly models: ReadonlyMap<string, CatalogueModel>;

  constructor(models: ReadonlyMap<string, CatalogueModel>) {
    this.models = models;
  }

  /** The model names, in the order their sources gave them. */
  names(): string[] {
    return [...this.models.keys()];
  }

  /** One model, or undefined. */
  get(model: string): CatalogueModel | undefined {
    return this.models.get(model);
  }

  /** One model's definition, or undefined. */
  definition(model: string): DeviceDefinition | undefined {
    return this.models.get(model)?.definition;
  }

  /** Every model's definition. */
  definitions(): DeviceDefinition[] {
    return [...this.models.values()].map((m) => m.definition);
  }

  /** Every model, with where it came from. */
  entries(): CatalogueModel[] {
    return [...this.models.values()];
  }

  /** The names of the models with a simulator (on a pty, or as a probe folder). */
  simulated(): string[] {
    return [...this.models.values()].filter((m) => m.simulator !== undefined || m.probe !== undefined).map((m) => m.definition.model);
  }

  /** A serial model's simulator; throws naming the models that have one. */
  simulator(model: string): SimulatorFactory {
    const found = this.models.get(model);
    const make = found?.simulator;
    if (make === undefined) {
      const simulated = [...this.models.values()].filter((m) => m.simulator !== undefined).map((m) => m.definition.model);
      const from = found === undefined || found.builtIn ? "" : ` of ${found.source} (a model file gets one by naming a capture to replay, simulator.replay)`;
      throw new HearthError("DEVICE_NO_SIMULATOR", `no simulator for model ${model}${from} (simulated models: ${simulated.join(", ")})`);
    }
    return make;
  }
}

/**
 * `base` with `models` laid over it: a model of the same name as one of base replaces it in its place
 * (and says so in `replaces`), the others follow in order. Two of `models` with one name are refused,
 * naming both sources, as catalogueOf refuses them.
 */
export function overlaid(base: ModelCatalogue, models: Iterable<CatalogueModel>): ModelCatalogue {
  const merged = new Map(base.entries().map((m) => [m.definition.model, m]));
  const laid = new Map<string, CatalogueModel>();
  for (const model of models) {
    const name = model.definition.model;
    const earlier = laid.get(name);
    if (earlier !== undefined) throw duplicate(model, earlier);
    laid.set(name, model);
    const replaced = merged.get(name);
    merged.set(name, replaced === undefined ? model : { ...model, replaces: replaced });
  }
  return new ModelCatalogue(merged);
}

/**
 * The models whose definition differs between two catalogues (compared as checked), or that one of them
 * lacks: the devices of those models are set up again on a reload, the others left alone.
 */
export function changedModels(previous: ModelCatalogue, next: ModelCatalogue): string[] {
  const names = new Set([...previous.names(), ...next.names()]);
  return [...names].filter((name) => !Bun.deepEquals(previous.definition(name), next.definition(name)));
}

function duplicate(model: CatalogueModel, earlier: CatalogueModel): HearthError {
  return new HearthError("DEVICE_DEFINITION_DUPLICATE", `${model.source}: model ${JSON.stringify(model.definition.model)} is already defined by ${earlier.source}`);
}

/** A catalogue of the models of every source, in order; a model that two sources define is refused, naming both. */
export function catalogueOf(...sources: ReadonlyArray<Iterable<CatalogueModel>>): ModelCatalogue {
  const models = new Map<string, CatalogueModel>();
  for (const source of sources) {
    for (const model of source) {
      const name = model.definition.model;
      const earlier = models.get(name);
      if (earlier !== undefined) throw duplicate(model, earlier);
      models.set(name, model);
    }
  }
  return new ModelCatalogue(models);
}

/**
 * A model's definition checked against the schema (src/config/device-definition.ts), or a
 * DEVICE_DEFINITION_INVALID error naming `source` and every bad path. `model`, when given, is the name
 * the definition must declare (a built-in model's folder).
 */
export function checkedDefinition(raw: unknown, source: string, model?: string): DeviceDefinition {
  const checked = checkDefinition(raw);
  if (!checked.ok) throw new HearthError("DEVICE_DEFINITION_INVALID", `${source}: ${checked.problems.join("; ")}`);
  if (model !== undefined && checked.definition.model !== model) {
    throw new HearthError("DEVICE_DEFINITION_INVALID", `${source}: model: expected "${model}", got "${checked.definition.model}"`);
  }
  return checked.definition;
}
