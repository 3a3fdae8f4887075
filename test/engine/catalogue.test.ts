import { expect, test } from "bun:test";
import { DEFINITION_SOURCES, PROBE_SIMULATORS, SIMULATORS } from "../../devices/index.ts";
import { builtInCatalogue, builtInModels } from "../../src/catalogue.ts";
import { isHearthError } from "../../src/core/errors.ts";
import { type CatalogueModel, catalogueOf, changedModels, checkedDefinition, overlaid } from "../../src/engine/catalogue.ts";

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

/** A user's model: the built-in hearth-io's definition under `model`, optionally with another poll interval. */
function userModel(model: string, source: string, poll_interval = 30): CatalogueModel {
  const raw = { ...(DEFINITION_SOURCES["hearth-io"] as Record<string, unknown>), model, poll_interval };
  return { definition: checkedDefinition(raw, source), source };
}

test("user models laid over the built-ins replace the one of their name in its place and follow the others", () => {
  const mine = userModel("hearth-io", "/etc/hearth/models/io.yaml", 10);
  const extra = userModel("my-board", "/etc/hearth/models/board.yaml");
  const catalogue = overlaid(builtInCatalogue(), [mine, extra]);
  expect(catalogue.names()).toEqual([...Object.keys(DEFINITION_SOURCES), "my-board"]);
  expect(catalogue.get("hearth-io")?.source).toBe("/etc/hearth/models/io.yaml");
  expect(catalogue.get("hearth-io")?.replaces?.source).toBe("devices/hearth-io/device.yaml");
  expect(catalogue.get("hearth-io")?.replaces?.builtIn).toBe(true);
  expect(catalogue.get("my-board")?.replaces).toBeUndefined();
  expect(builtInCatalogue().get("hearth-io")?.source).toBe("devices/hearth-io/device.yaml"); // the base is left as it was
  // Two user models of one name are refused as two sources are.
  const err = thrown(() => overlaid(builtInCatalogue(), [extra, userModel("my-board", "/etc/hearth/models/copy.yaml")]));
  expect(isHearthError(err, "DEVICE_DEFINITION_DUPLICATE")).toBe(true);
  expect((err as Error).message).toBe('/etc/hearth/models/copy.yaml: model "my-board" is already defined by /etc/hearth/models/board.yaml');
});

test("the changed models of two catalogues are those whose checked definitions differ, or that one lacks", () => {
  const before = overlaid(builtInCatalogue(), [userModel("a", "/m/a.yaml"), userModel("b", "/m/b.yaml"), userModel("gone", "/m/gone.yaml")]);
  const after = overlaid(builtInCatalogue(), [userModel("a", "/m/a.yaml", 5), userModel("b", "/m/renamed-b.yaml"), userModel("new", "/m/new.yaml")]);
  expect(changedModels(before, after).sort()).toEqual(["a", "gone", "new"]);
  expect(changedModels(before, before)).toEqual([]);
});

test("a user model without a simulator says so, naming its file", () => {
  const catalogue = overlaid(builtInCatalogue(), [userModel("my-board", "/etc/hearth/models/board.yaml")]);
  expect((thrown(() => catalogue.simulator("my-board")) as Error).message).toStartWith(
    "no simulator for model my-board of /etc/hearth/models/board.yaml (a model file gets one by naming a capture to replay, simulator.replay)",
  );
});
