/**
 * The Grafana dashboard (deploy/grafana/aks-gmsa.json) against contract/metrics.ts: every expression names only
 * families the product exports, by their names as scraped, groups and filters only by labels those families have,
 * and every family of the product's own is on a panel. Every family of ours listed there is recorded somewhere in
 * the product's code, so the list is not a wish list (test/e2e/metrics.test.ts scrapes them after a run).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import * as metrics from '../../contract/metrics.js';
import { METRIC_FAMILIES, type MetricFamily } from '../../contract/metrics.js';
import { PROJECT_ROOT } from '../../lab/paths.js';

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}
const dashboard = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'deploy/grafana/aks-gmsa.json'), 'utf8')) as {
  panels: Panel[];
};
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

/** Labels the SDK puts on every worker family (ours camelCase, its own snake_case), and Prometheus' own. */
const COMMON_LABELS = [
  'namespace',
  'taskQueue',
  'activityType',
  'workflowType',
  'service_name',
  'instance',
  'job',
  'le',
];
const PROMQL_WORDS = new Set(['sum', 'by', 'without', 'rate', 'increase', 'histogram_quantile', 'max', 'avg']);

/** The series a PromQL expression reads, each with the labels it groups or filters by. */
function seriesOf(expr: string): { name: string; labels: string[] }[] {
  const labels = [...expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap((m) => m[1]!.split(','));
  const found: { name: string; labels: string[] }[] = [];
  const bare = expr.replace(/"[^"]*"/g, '""').replace(/\b(?:by|without)\s*\([^)]*\)/g, ' ');
  for (const m of bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?(?=\s*(\[|\)|$|\s|,))/g)) {
    const name = m[1]!;
    if (PROMQL_WORDS.has(name) || name.startsWith('$__')) continue;
    const matchers = [...(m[2] ?? '').matchAll(/([a-zA-Z_]+)\s*(?:=~|!=|!~|=)/g)].map((l) => l[1]!);
    found.push({ name, labels: [...labels.map((l) => l.trim()).filter(Boolean), ...matchers] });
  }
  return found;
}

/** The family a scraped series belongs to: itself, or a histogram's `_bucket`, `_sum`, `_count`. */
function familyOf(series: string): MetricFamily | undefined {
  const exact = METRIC_FAMILIES.find((f) => f.name === series);
  if (exact) return exact;
  const m = /^(.*)_(bucket|sum|count)$/.exec(series);
  return METRIC_FAMILIES.find((f) => f.kind === 'histogram' && f.name === m?.[1]);
}

test('every dashboard expression reads families the product exports, by labels they have', () => {
  assert.ok(exprs.length >= 10, `the dashboard's expressions: ${exprs.length}`);
  for (const { panel, expr } of exprs) {
    const series = seriesOf(expr);
    assert.ok(series.length > 0, `${panel}: no metric in ${expr}`);
    for (const s of series) {
      const f = familyOf(s.name);
      assert.ok(f, `${panel}: ${s.name} is no family of contract/metrics.ts`);
      if (f.kind === 'histogram')
        assert.notEqual(s.name, f.name, `${panel}: a histogram is scraped as ${f.name}_bucket/_sum/_count`);
      for (const l of s.labels)
        assert.ok(f.labels.includes(l) || COMMON_LABELS.includes(l), `${panel}: ${f.name} has no label ${l}`);
    }
  }
});

test("the issue's panels are there: every family of the product's own, and the SDK's on the worker", () => {
  const used = new Set(exprs.flatMap(({ expr }) => seriesOf(expr).map((s) => familyOf(s.name)?.name)));
  for (const f of METRIC_FAMILIES.filter((f) => f.by !== 'node'))
    assert.ok(used.has(f.name), `no panel reads ${f.name}`);
});

/** Every .ts file of the product's code (not tests, not the lab). */
function productSources(): string {
  const out: string[] = [];
  const walk = (p: string) => {
    if (statSync(p).isDirectory()) for (const e of readdirSync(p)) walk(path.join(p, e));
    else if (p.endsWith('.ts')) out.push(readFileSync(p, 'utf8'));
  };
  for (const dir of ['workflows', 'worker', 'activities', 'api']) walk(path.join(PROJECT_ROOT, dir));
  return out.join('\n');
}

test('every family of our own is recorded by the product (by its name or its constant)', () => {
  const code = productSources();
  const constants = Object.entries(metrics).filter(([, v]) => typeof v === 'string') as [string, string][];
  for (const f of METRIC_FAMILIES.filter((f) => f.by === 'product')) {
    const names = [`'${f.name}'`, ...constants.filter(([, v]) => v === f.name).map(([k]) => k)];
    assert.ok(
      names.some((n) => code.includes(n)),
      `${f.name}: recorded nowhere in workflows/, worker/, activities/, api/ (looked for ${names.join(', ')})`,
    );
  }
});
