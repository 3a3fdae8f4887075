/**
 * `npm run bench -- metrics`: what scraping /metrics costs. hearth runs as its own process with 50
 * simulated hearth-io boards (hearth-fleet.ts) on a real Mosquitto, and its CPU is read from /proc: over
 * windows with /metrics scraped once a second, against the limit, the same hearth over windows of the
 * same length unscraped, measured in the same run (alternated, so a drift in the machine's load falls
 * on both).
 */

import { alternatedCpu, mean, percentile, round, startHearthFleet, windowMs } from "./hearth-fleet.ts";
import { type BenchResult, compared } from "./result.ts";

const DEVICES = 50;
/** Windows of each kind: scraped and unscraped, alternated. */
const ROUNDS = 2;

export async function run(): Promise<BenchResult[]> {
  const fleet = await startHearthFleet({ devices: DEVICES, name: "metrics" });
  const url = new URL("/metrics", fleet.baseUrl);
  try {
    const scrapeMs: number[] = [];
    let bytes = 0;
    const shares = await alternatedCpu(
      fleet.pid,
      { rounds: ROUNDS, windowMs: windowMs(), conditions: ["unscraped", "scraped"] },
      {
        during: async (condition, deadline) => {
          while (performance.now() < deadline) {
            const tick = performance.now();
            if (condition === "scraped") {
              const response = await fetch(url);
              const text = await response.text();
              scrapeMs.push(performance.now() - tick);
              bytes = text.length;
            }
            await Bun.sleep(Math.max(0, 1000 - (performance.now() - tick)));
          }
        },
      },
    );
    scrapeMs.sort((a, b) => a - b);
    const label = `${DEVICES} devices, /metrics scraped at 1 Hz`;
    return [
      compared({
        name: `${label}: hearth CPU (its simulators included)`,
        value: round(mean(shares.scraped)),
        unit: "% of a core",
        limit: { name: "the same hearth unscraped", value: round(mean(shares.unscraped)) },
      }),
      { name: `${label}: scrape time p50`, value: round(percentile(scrapeMs, 50), 3), unit: "ms" },
      { name: `${label}: scrape time p99`, value: round(percentile(scrapeMs, 99), 3), unit: "ms" },
      { name: `${label}: scrape size`, value: round(bytes / 1024, 1), unit: "KiB" },
    ];
  } finally {
    await fleet.stop();
  }
}
