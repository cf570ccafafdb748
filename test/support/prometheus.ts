/**
 * Prometheus text exposition read as a scraper reads it: samples with their labels, the families a `# TYPE` line
 * declares, and sums over the samples that match some labels.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Scrape {
  samples: Sample[];
  /** Family name → its declared type (`counter`, `histogram`, `gauge`…). */
  types: Map<string, string>;
  /** The sum of `name`'s samples whose labels include every one of `match`. */
  sum(name: string, match?: Record<string, string>): number;
  /** The distinct values of `label` among `name`'s samples that match. */
  values(name: string, label: string, match?: Record<string, string>): string[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseScrape(text: string): Scrape {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => c);
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  const matching = (name: string, match: Record<string, string> = {}) =>
    samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
  return {
    samples,
    types,
    sum: (name, match) => matching(name, match).reduce((t, s) => t + s.value, 0),
    values: (name, label, match) => [...new Set(matching(name, match).map((s) => s.labels[label] ?? ''))].sort(),
  };
}
