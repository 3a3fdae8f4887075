/**
 * The layer rules of hearth (ARCHITECTURE.md), checked on every CI run by `npm run lint:layers`.
 * A violation prints the rule's name and fails the run. Paths are relative to the repository.
 *
 * dependency-cruiser runs under Bun (not on Node 20) and reads TypeScript with @swc/core: TypeScript 7
 * has no JS API it supports yet.
 */

/** Where hearth's own code is: anything else is a builtin (node:, bun:) or an npm package. */
const OWN = "^(src|devices)/";

module.exports = {
  forbidden: [
    {
      name: "core-imports-nothing-above-it",
      comment:
        "src/core is the event loop every layer stands on (hub, jobs, executor, loop monitor): it may import only itself, builtins and npm packages. What it must start (the executor Worker's entry, which imports serial and 1-Wire code) is handed to it by the composition root (src/worker-entries.ts via src/service.ts).",
      severity: "error",
      from: { path: "^src/core/" },
      to: { path: OWN, pathNot: "^src/core/" },
    },
    {
      name: "serial-never-imports-mqtt",
      comment: "The serial layer moves bytes to and from ttys; what becomes of them on MQTT is the engine's and the bridge's business, so a serial fix never touches MQTT.",
      severity: "error",
      from: { path: "^src/serial/" },
      to: { path: "^src/mqtt/" },
    },
    {
      name: "mqtt-never-imports-serial",
      comment: "The MQTT layer sees devices through the engine, never the port under them: it must work the same for a serial, 1-Wire or any later transport.",
      severity: "error",
      from: { path: "^src/mqtt/" },
      to: { path: "^src/serial/" },
    },
    {
      name: "mqtt-reads-the-engine-through-its-view",
      comment:
        "The MQTT side sees devices only through the engine's read-only view (src/engine/device-view.ts: ids, names, entities, availability, values, and the commands it offers) and its events and errors, never the manager's entries or a running Device: the engine can change inside without MQTT noticing. Of entities it needs only the words an on/off entity shows (src/entities/on-off.ts).",
      severity: "error",
      from: { path: "^src/mqtt/" },
      to: { path: "^src/(engine|entities)/", pathNot: "^src/engine/(device-view|events|device-error)\\.ts$|^src/entities/on-off\\.ts$" },
    },
    {
      name: "http-reads-the-engine-through-its-view",
      comment:
        "The web server (src/http: the console and /metrics) sees devices as MQTT does, only through the engine's read-only view (src/engine/device-view.ts) and its events and errors; it never imports the MQTT side, the serial layer or the commands either. What it shows of MQTT (connected, messages, the outbox) the composition root hands it as plain figures.",
      severity: "error",
      from: { path: "^src/http/" },
      to: { path: "^src/(engine|entities|serial|mqtt|commands)/", pathNot: "^src/engine/(device-view|events|device-error)\\.ts$" },
    },
    {
      name: "engine-never-imports-mqtt-or-http",
      comment: "The device engine runs devices whatever is watching them: MQTT and the web console read it, it never reads them (they get its events and a view of the devices).",
      severity: "error",
      from: { path: "^src/engine/" },
      to: { path: "^src/(mqtt|http)/" },
    },
    {
      name: "entities-import-no-transport",
      comment: "An entity is a value and its commands (sensor, switch, light…): it knows neither the line its device is on (serial) nor where its value is published (MQTT, HTTP).",
      severity: "error",
      from: { path: "^src/entities/" },
      to: { path: "^src/(serial|mqtt|http)/" },
    },
    {
      name: "storage-never-imports-mqtt",
      comment: "Storage keeps states and queued messages in SQLite for whoever needs them; the outbox's interface lives with storage, so the store does not depend on the MQTT client it serves.",
      severity: "error",
      from: { path: "^src/storage/" },
      to: { path: "^src/mqtt/" },
    },
    {
      name: "config-imports-only-core",
      comment:
        "Config is the schema of hearth.yaml and of model definitions, with their messages: every layer reads it, so it may import nothing of hearth but core. What it checks against (the model names) is handed to it. One exception: src/serial/settings.ts, the serial settings' type and defaults, which imports nothing, so that the schema produces exactly the shape the serial link takes.",
      severity: "error",
      from: { path: "^src/config/" },
      to: { path: OWN, pathNot: "^src/(config|core)/|^src/serial/settings\\.ts$" },
    },
    {
      name: "models-import-only-protocol-helpers-and-core",
      comment:
        "devices/ holds the models (definitions, simulators): a model may use core and the engine's protocol helpers (src/engine/<protocol>/, and src/engine/simulator.ts, the contract its simulator meets), nothing else of hearth, so that the engine can be handed models without them reaching back into it.",
      severity: "error",
      from: { path: "^devices/" },
      to: { path: "^src/", pathNot: "^src/(core/|engine/(line|modbus|nmea|onewire|vedirect|telegram)/|engine/simulator\\.ts$)" },
    },
    {
      name: "no-cycles-between-folders",
      comment: "Folders depend on each other one way (ARCHITECTURE.md's layers): a cycle between two, even through a third, means neither can be understood or changed without the other.",
      severity: "error",
      scope: "folder",
      from: {},
      to: { circular: true },
    },
    {
      name: "no-cycles-between-modules",
      comment:
        "A cycle of imports inside one folder makes its modules load in an order that depends on who is imported first (a cycle through `import type` does not, and is left alone); a warning, so it is seen and can be undone.",
      severity: "warn",
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ["type-only"] } },
    },
    {
      name: "no-unresolvable-imports",
      comment: "An import the checker cannot resolve is an import it cannot check: fix the path or teach the resolver (enhancedResolveOptions).",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    // swc reads every import, `import type` included (marked "type-only"), whatever tsPreCompilationDeps
    // says: that option only asks for the TypeScript compiler, which 7 does not offer, and with it set
    // dependency-cruiser warns of a missing compiler while finding the very same dependencies.
    parser: "swc",
    tsPreCompilationDeps: false,
    enhancedResolveOptions: {
      // npm packages that have only an "exports" map (aedes).
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".js", ".mjs", ".cjs", ".json"],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
