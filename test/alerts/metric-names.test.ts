/**
 * Every metric an alert rule or a dashboard query names must be one the code registers: a renamed metric
 * must break this test, not silently turn an alert into one that never fires.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeWithHelm, find, REPO_ROOT, render } from '../chart/helm.js';
import { expandGrafanaVariables, exportedSeries, selectedMetrics } from './promql.js';

const DASHBOARD = resolve(REPO_ROOT, 'charts/mtls-injector/dashboards/mtls-injector.json');

interface Rule {
  readonly alert?: string;
  readonly record?: string;
  readonly expr: string;
}
interface PrometheusRule {
  readonly spec: { readonly groups: readonly { readonly name: string; readonly rules: readonly Rule[] }[] };
}

/** Each query of the dashboard (panel targets and query variables), with where it is. */
function dashboardQueries(): { where: string; expr: string }[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    panels: { title: string; targets?: { expr: string; refId: string }[] }[];
    templating: { list: { name: string; type: string; query?: string | { query: string } }[] };
  };
  const queries = dashboard.panels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr })),
  );
  for (const v of dashboard.templating.list) {
    if (v.type !== 'query' || v.query === undefined) continue;
    const query = typeof v.query === 'string' ? v.query : v.query.query;
    // Grafana's label_values(<selector>, <label>) is not PromQL: check its selector.
    const selector = /^label_values\(\s*(.+?)\s*,\s*\w+\s*\)$/.exec(query)?.[1];
    queries.push({ where: `variable $${v.name}`, expr: selector ?? query });
  }
  return queries;
}

/** The problems of one expression: syntax errors, no metric at all, metrics the code does not export. */
function problems(expr: string, exported: ReadonlySet<string>): string[] {
  const { metrics, errors } = selectedMetrics(expr);
  const unknown = metrics.filter((m) => !exported.has(m)).map((m) => `${m} is not exported by the code`);
  return [...errors, ...(metrics.length === 0 ? ['names no metric'] : []), ...unknown];
}

let exported: Set<string>;
beforeAll(async () => {
  exported = await exportedSeries();
});

describe('the exported metric names', () => {
  it('come from both registries, histograms with their series', () => {
    for (const name of [
      'mtls_injector_admissions_total',
      'mtls_injector_admission_duration_seconds_bucket',
      'mtls_injector_rotator_leader',
      'mtls_injector_ca_expiry_timestamp_seconds',
      'mtls_injector_webhook_process_cpu_seconds_total',
    ]) {
      expect(exported, name).toContain(name);
    }
  });

  it('the check flags a metric the code does not export, and a broken expression', () => {
    expect(problems('sum(rate(mtls_injector_secrets_collided_total[5m])) > 0', exported)).toEqual([
      'mtls_injector_secrets_collided_total is not exported by the code',
    ]);
    expect(problems('sum(rate(mtls_injector_admissions_total[5m]) > 0', exported)).not.toEqual([]);
    expect(problems('vector(1)', exported)).toEqual(['names no metric']);
  });
});

describeWithHelm('alert rules name only exported metrics', () => {
  const rule = find<PrometheusRule>(
    render(['--set', 'prometheusRule.enabled=true']),
    'PrometheusRule',
    'mtls-injector',
  );
  const rules = rule.spec.groups.flatMap((g) => g.rules.map((r) => ({ group: g.name, ...r })));

  it('renders rules to check', () => {
    expect(rules.length).toBeGreaterThanOrEqual(9);
  });

  it.each(rules.map((r) => [`${r.group} ${r.alert ?? r.record ?? ''}`, r.expr] as const))(
    '%s',
    (_name, expr) => {
      expect(problems(expr, exported)).toEqual([]);
    },
  );
});

describe('dashboard queries name only exported metrics', () => {
  const queries = dashboardQueries();

  it('has queries to check, one per panel target and variable', () => {
    expect(queries.length).toBeGreaterThanOrEqual(15);
  });

  it.each(queries.map((q) => [q.where, q.expr] as const))('%s', (_where, expr) => {
    expect(problems(expandGrafanaVariables(expr), exported)).toEqual([]);
  });
});
