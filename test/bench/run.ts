/**
 * `npm run bench -- <suite> [--json]`: runs one benchmark suite, test/bench/<suite>.ts, whose
 * `export async function run(): Promise<BenchResult[]>` measures hearth and its limit in the same run.
 * Prints a table, or with --json exactly one JSON document on stdout (everything else goes to stderr).
 * Exits 0 when the suite ran, goals met or not (a benchmark is a measurement); non-zero on errors.
 */
import { readdirSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { type BenchResult, goalMet, isBenchResult } from "./result.ts";

const BENCH_DIR = import.meta.dir;
/** Modules here that are not suites. */
const NOT_SUITES = new Set(["run", "result", "measure", "json-lines", "hearth-fleet"]);
const SUITE_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** Exit codes: a usage error, and a suite that failed to load or run. */
const EXIT_USAGE = 2;
const EXIT_FAILED = 1;

class BenchError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "BenchError";
  }
}

/** Names of the suites present in test/bench. */
export function availableSuites(): string[] {
  return readdirSync(BENCH_DIR)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
    .map((f) => f.slice(0, -3))
    .filter((name) => SUITE_NAME.test(name) && !NOT_SUITES.has(name))
    .sort();
}

function usage(): string {
  const suites = availableSuites();
  return [
    "usage: npm run bench -- <suite> [--json]",
    `suites: ${suites.length > 0 ? suites.join(", ") : "(none)"}`,
    "Each suite measures hearth and its limit in the same run; there is no suite that runs them all.",
  ].join("\n");
}

interface Args {
  suite: string;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  let json = false;
  const names: string[] = [];
  for (const arg of argv) {
    if (arg === "--json") json = true;
    else if (arg === "--help" || arg === "-h") throw new BenchError(usage(), 0);
    else if (arg.startsWith("-")) throw new BenchError(`Unknown option ${arg}\n${usage()}`, EXIT_USAGE);
    else names.push(arg);
  }
  if (names.length === 0) throw new BenchError(`No suite named\n${usage()}`, EXIT_USAGE);
  if (names.length > 1) throw new BenchError(`One suite at a time, got ${names.join(", ")}\n${usage()}`, EXIT_USAGE);
  const suite = names[0]!;
  if (suite === "all") throw new BenchError(`There is no "all": run each suite on its own\n${usage()}`, EXIT_USAGE);
  return { suite, json };
}

type SuiteRun = () => Promise<BenchResult[]>;

async function loadSuite(name: string): Promise<SuiteRun> {
  const suites = availableSuites();
  if (!SUITE_NAME.test(name) || !suites.includes(name)) {
    throw new BenchError(`No benchmark suite "${name}" (test/bench/${name}.ts)\n${usage()}`, EXIT_USAGE);
  }
  let module: { run?: unknown };
  try {
    module = (await import(join(BENCH_DIR, `${name}.ts`))) as { run?: unknown };
  } catch (cause) {
    throw new BenchError(`Cannot load suite "${name}": ${describe(cause)}`, EXIT_FAILED, { cause });
  }
  if (typeof module.run !== "function") {
    throw new BenchError(`Suite "${name}" does not export \`async function run(): Promise<BenchResult[]>\``, EXIT_FAILED);
  }
  return module.run as SuiteRun;
}

function describe(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

/** What the JSON document says about the machine, so figures from different boards are not compared blindly. */
function machine(): { cpus: number; bun: string; arch: string; platform: string } {
  return { cpus: navigator.hardwareConcurrency || cpus().length, bun: Bun.version, arch: process.arch, platform: process.platform };
}

/**
 * Runs `fn` with everything a suite might print to stdout sent to stderr instead, so that with --json
 * the document is the only thing on stdout. (A pino logger writing to fd 1 itself would get past
 * this: suites use silentLogger or log to stderr.)
 */
async function withStdoutOnStderr<T>(fn: () => Promise<T>): Promise<T> {
  const saved = { log: console.log, info: console.info, debug: console.debug, table: console.table, write: process.stdout.write };
  console.log = console.info = console.debug = (...args: unknown[]) => console.error(...args);
  console.table = (...args: unknown[]) => console.error(...args);
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  try {
    return await fn();
  } finally {
    Object.assign(console, { log: saved.log, info: saved.info, debug: saved.debug, table: saved.table });
    process.stdout.write = saved.write;
  }
}

function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return n.toLocaleString("en-US", { maximumFractionDigits: digits });
}

/** The table without --json: name, value, limit, ratio, goal, met. */
export function formatTable(suite: string, results: BenchResult[]): string {
  const m = machine();
  const header = ["name", "value", "limit", "ratio", "goal", "met"];
  const rows = results.map((r) => {
    const met = goalMet(r);
    return [
      r.name,
      `${formatNumber(r.value)} ${r.unit}`,
      r.limit ? `${formatNumber(r.limit.value)} (${r.limit.name})` : "",
      r.ratio === undefined ? "" : r.ratio.toFixed(2),
      r.goal === undefined ? "" : `≤ ${r.goal}`,
      met === undefined ? "" : met ? "✓" : "✗",
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 1 || i === 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [
    `suite ${suite} — ${m.cpus} CPUs, ${m.platform}/${m.arch}, Bun ${m.bun}`,
    "ratio: hearth's cost over the limit's for the same work (1.0 = at the limit, lower is better)",
    "",
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
  ].join("\n");
}

async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  const runSuite = await loadSuite(args.suite);
  const results = args.json ? await withStdoutOnStderr(runSuite) : await runSuite();
  if (!Array.isArray(results)) {
    throw new BenchError(`Suite "${args.suite}" returned ${typeof results}, not an array of results`, EXIT_FAILED);
  }
  const bad = results.findIndex((r) => !isBenchResult(r));
  if (bad >= 0) {
    throw new BenchError(`Suite "${args.suite}" returned a malformed result at [${bad}]: ${JSON.stringify(results[bad])}`, EXIT_FAILED);
  }
  if (args.json) process.stdout.write(`${JSON.stringify({ suite: args.suite, machine: machine(), results }, null, 2)}\n`);
  else console.log(formatTable(args.suite, results));
}

if (import.meta.main) {
  try {
    await main(process.argv.slice(2));
  } catch (err) {
    if (err instanceof BenchError) {
      (err.exitCode === 0 ? console.log : console.error)(err.message);
      process.exitCode = err.exitCode;
    } else {
      console.error(`Benchmark failed: ${describe(err)}`);
      process.exitCode = EXIT_FAILED;
    }
  }
}
