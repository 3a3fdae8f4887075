/**
 * The Prometheus text exposition format (version 0.0.4), written by hand: a family's `# HELP` and `# TYPE`
 * once, then its samples, label values escaped as the format says. Names and units are the caller's
 * (src/http/metrics.ts keeps Prometheus's conventions).
 */
import type { HistogramSnapshot } from "../core/histogram.ts";

/** The Content-Type of the format. */
export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export type Labels = Readonly<Record<string, string>>;

/** One sample of a counter or gauge family. */
export interface Sample {
  labels?: Labels;
  value: number;
}

/** One histogram of a family: its labels and its buckets. */
export interface HistogramSample {
  labels?: Labels;
  histogram: HistogramSnapshot;
}

/** Builds one scrape's text; families are written in the order they are added. */
export class Exposition {
  private readonly lines: string[] = [];

  counter(name: string, help: string, samples: readonly Sample[]): this {
    return this.family(name, "counter", help, samples);
  }

  gauge(name: string, help: string, samples: readonly Sample[]): this {
    return this.family(name, "gauge", help, samples);
  }

  /** A histogram family: cumulative `_bucket`s with `le`, up to `+Inf`, then `_sum` and `_count`. */
  histogram(name: string, help: string, samples: readonly HistogramSample[]): this {
    this.header(name, "histogram", help);
    for (const { labels, histogram } of samples) {
      let cumulative = 0;
      histogram.bounds.forEach((bound, i) => {
        cumulative += histogram.counts[i] ?? 0;
        this.lines.push(`${name}_bucket${labelText({ ...labels, le: formatValue(bound) })} ${formatValue(cumulative)}`);
      });
      this.lines.push(`${name}_bucket${labelText({ ...labels, le: "+Inf" })} ${formatValue(histogram.count)}`);
      this.lines.push(`${name}_sum${labelText(labels)} ${formatValue(histogram.sum)}`);
      this.lines.push(`${name}_count${labelText(labels)} ${formatValue(histogram.count)}`);
    }
    return this;
  }

  text(): string {
    return this.lines.length === 0 ? "" : `${this.lines.join("\n")}\n`;
  }

  private family(name: string, type: "counter" | "gauge", help: string, samples: readonly Sample[]): this {
    this.header(name, type, help);
    for (const { labels, value } of samples) this.lines.push(`${name}${labelText(labels)} ${formatValue(value)}`);
    return this;
  }

  private header(name: string, type: string, help: string): void {
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${name} ${type}`);
  }
}

/** `{a="x",b="y"}`, or nothing without labels; a value's backslash, quote and newline escaped. */
function labelText(labels: Labels | undefined): string {
  if (labels === undefined) return "";
  const parts = Object.entries(labels).map(([key, value]) => `${key}="${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

/** A number as the format writes it (`+Inf`, `-Inf`, `NaN` for the special values). */
function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}
