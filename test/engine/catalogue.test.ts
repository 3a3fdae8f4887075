import { expect, test } from "bun:test";
import { DEFINITION_SOURCES, PROBE_SIMULATORS, SIMULATORS } from "../../devices/index.ts";
import { builtInCatalogue, builtInModels } from "../../src/catalogue.ts";
import { isHearthError } from "../../src/core/errors.ts";
import { catalogueOf, checkedDefinition } from "../../src/engine/catalogue.ts";

/** What a thrown error was, or undefined when nothing was thrown. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

test("the built-in catalogue holds every model in devices/, each with its simulator", () => {
  const catalogue = builtInCatalogue();
  expect(catalogue.names()).toEqual(Object.keys(DEFINITION_SOURCES));
  for (const model of catalogue.names()) {
    expect(catalogue.definition(model)?.model).toBe(model);
    expect(catalogue.get(model)?.source).toBe(`devices/${model}/device.yaml`);
  }
  expect(catalogue.simulated().sort()).toEqual([...Object.keys(SIMULATORS), ...Object.keys(PROBE_SIMULATORS)].sort());
  expect(catalogue.simulator("hearth-io")).toBe(SIMULATORS["hearth-io"]!);
  expect(catalogue.get("ds18b20")?.probe).toBe(PROBE_SIMULATORS.ds18b20!);
});

test("a catalogue is made from several sources, in order", () => {
  const [first, ...rest] = builtInModels();
  const catalogue = catalogueOf([first!], rest);
  expect(catalogue.names()).toEqual(Object.keys(DEFINITION_SOURCES));
});

test("a model that two sources define is refused, naming both", () => {
  const definition = checkedDefinition(DEFINITION_SOURCES["hearth-io"], "models/hearth-io.yaml");
  const err = thrown(() => catalogueOf(builtInModels(), [{ definition, source: "models/hearth-io.yaml" }]));
  expect(isHearthError(err, "DEVICE_DEFINITION_DUPLICATE")).toBe(true);
  expect((err as Error).message).toBe('models/hearth-io.yaml: model "hearth-io" is already defined by devices/hearth-io/device.yaml');
});

test("a broken definition is refused with its source and the bad path", () => {
  const raw = { ...(DEFINITION_SOURCES["hearth-io"] as Record<string, unknown>), poll_interval: "often" };
  const err = thrown(() => checkedDefinition(raw, "models/broken.yaml"));
  expect(isHearthError(err, "DEVICE_DEFINITION_INVALID")).toBe(true);
  expect((err as Error).message).toStartWith("models/broken.yaml: poll_interval: ");
  const misnamed = thrown(() => checkedDefinition(DEFINITION_SOURCES["hearth-io"], "devices/other/device.yaml", "other"));
  expect((misnamed as Error).message).toBe('devices/other/device.yaml: model: expected "other", got "hearth-io"');
});

test("asking for the simulator of a model without one names the models that have one", () => {
  const err = thrown(() => builtInCatalogue().simulator("ds18b20"));
  expect(isHearthError(err, "DEVICE_NO_SIMULATOR")).toBe(true);
  expect((err as Error).message).toBe(`no simulator for model ds18b20 (simulated models: ${Object.keys(SIMULATORS).join(", ")})`);
});
