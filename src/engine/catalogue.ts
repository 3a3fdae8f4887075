/**
 * The models the engine can run, each with its definition and its simulator: a value the composition
 * root builds (src/catalogue.ts) from one source or several and hands to the engine, so the engine
 * never imports the models (devices/) itself.
 */
import { type DeviceDefinition, DeviceDefinitionSchema } from "../config/device-definition.ts";
import { formatIssues } from "../config/issues.ts";
import { HearthError } from "../core/errors.ts";
import type { ProbeSimulatorFactory, SimulatorFactory } from "./simulator.ts";

/** One model of a catalogue: its checked definition, where it came from, and how to simulate it for `port: sim`. */
export interface CatalogueModel {
  readonly definition: DeviceDefinition;
  /** Where the definition came from, for messages (`devices/ds18b20/device.yaml`). */
  readonly source: string;
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

  /** The names of the models with a simulator (on a pty, or as a probe folder). */
  simulated(): string[] {
    return [...this.models.values()].filter((m) => m.simulator !== undefined || m.probe !== undefined).map((m) => m.definition.model);
  }

  /** A serial model's simulator; throws naming the models that have one. */
  simulator(model: string): SimulatorFactory {
    const make = this.models.get(model)?.simulator;
    if (make === undefined) {
      const simulated = [...this.models.values()].filter((m) => m.simulator !== undefined).map((m) => m.definition.model);
      throw new HearthError("DEVICE_NO_SIMULATOR", `no simulator for model ${model} (simulated models: ${simulated.join(", ")})`);
    }
    return make;
  }
}

/** A catalogue of the models of every source, in order; a model that two sources define is refused, naming both. */
export function catalogueOf(...sources: ReadonlyArray<Iterable<CatalogueModel>>): ModelCatalogue {
  const models = new Map<string, CatalogueModel>();
  for (const source of sources) {
    for (const model of source) {
      const name = model.definition.model;
      const earlier = models.get(name);
      if (earlier !== undefined) {
        throw new HearthError("DEVICE_DEFINITION_DUPLICATE", `${model.source}: model ${JSON.stringify(name)} is already defined by ${earlier.source}`);
      }
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
  const parsed = DeviceDefinitionSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = formatIssues(parsed.error.issues, { schema: DeviceDefinitionSchema, input: raw });
    throw new HearthError("DEVICE_DEFINITION_INVALID", `${source}: ${problems.join("; ")}`);
  }
  if (model !== undefined && parsed.data.model !== model) {
    throw new HearthError("DEVICE_DEFINITION_INVALID", `${source}: model: expected "${model}", got "${parsed.data.model}"`);
  }
  return parsed.data;
}
