/**
 * The chart's alerts, as rendered, under Prometheus' own tool: `promtool check rules` (syntax, templates) and
 * `promtool test rules` with test/alerts/alerts.promtool.yaml (each alert fires when it should, and not
 * otherwise). Also: every runbook link points at a file in docs/runbooks, and the dashboard's queries pass
 * promtool's parser too.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { find, NAMESPACE, ofKind, REPO_ROOT, render } from '../chart/helm.js';
import { describeWithTools, TOOLS } from '../tools.js';
import { expandGrafanaVariables } from './promql.js';

interface Rule {
  readonly alert: string;
  readonly expr: string;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
}
interface PrometheusRule {
  readonly metadata: { readonly namespace: string; readonly labels: Record<string, string> };
  readonly spec: { readonly groups: readonly { readonly name: string; readonly rules: readonly Rule[] }[] };
}

const TEST_FILE = resolve(REPO_ROOT, 'test/alerts/alerts.promtool.yaml');
const DASHBOARD = resolve(REPO_ROOT, 'charts/mtls-injector/dashboards/mtls-injector.json');
const work = mkdtempSync(join(tmpdir(), 'mtls-alerts-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function promtool(args: readonly string[]): { status: number; output: string } {
  const r = spawnSync(TOOLS.promtool, [...args], { encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

function rules(extra: readonly string[] = []): PrometheusRule {
  return find<PrometheusRule>(
    render(['--set', 'prometheusRule.enabled=true', ...extra]),
    'PrometheusRule',
    'mtls-injector',
  );
}

describeWithTools(['helm', 'promtool'], 'chart alerts under promtool', () => {
  const tested = rules(['--set', 'prometheusRule.runbookBaseUrl=https://runbooks.test']);

  it('pass promtool check rules', () => {
    const file = join(work, 'check.yaml');
    writeFileSync(file, stringify(tested.spec));
    const r = promtool(['check', 'rules', file]);
    expect(r.output).toContain('SUCCESS: 12 rules found');
    expect(r.status, r.output).toBe(0);
  });

  it('pass promtool test rules (test/alerts/alerts.promtool.yaml)', () => {
    writeFileSync(join(work, 'rules.yaml'), stringify(tested.spec));
    copyFileSync(TEST_FILE, join(work, 'alerts.promtool.yaml'));
    const r = promtool(['test', 'rules', join(work, 'alerts.promtool.yaml')]);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain('SUCCESS');
  });

  it('has a promtool test for every alert', () => {
    const alerts = new Set(tested.spec.groups.flatMap((g) => g.rules.map((r) => r.alert)));
    const testFile = readFileSync(TEST_FILE, 'utf8');
    for (const alert of alerts) expect(testFile, alert).toContain(`alertname: ${alert}\n`);
  });

  it('links every alert to a runbook of this version in docs/runbooks that exists', () => {
    const chart = readFileSync(resolve(REPO_ROOT, 'charts/mtls-injector/Chart.yaml'), 'utf8');
    const appVersion = /^appVersion: *['"]?([^'"\s]+)/m.exec(chart)?.[1] ?? '';
    const base = `https://github.com/mtls-injector/mtls-injector/blob/v${appVersion}/docs/runbooks/`;
    for (const rule of rules().spec.groups.flatMap((g) => g.rules)) {
      const url = rule.annotations['runbook_url'] ?? '';
      expect(url.startsWith(base), `${rule.alert}: ${url}`).toBe(true);
      const file = resolve(REPO_ROOT, 'docs/runbooks', url.slice(base.length));
      expect(existsSync(file), `${rule.alert}: ${file}`).toBe(true);
      expect(readFileSync(file, 'utf8'), `${file} names its alert`).toContain(rule.alert);
    }
  });

  it('scopes every selector to the release namespace and adds the configured labels', () => {
    const r = rules([
      '--set', 'prometheusRule.labels.release=prom',
      '--set', 'prometheusRule.alertLabels.team=platform',
    ]); // prettier-ignore
    expect(r.metadata.namespace).toBe(NAMESPACE);
    expect(r.metadata.labels['release']).toBe('prom');
    for (const rule of r.spec.groups.flatMap((g) => g.rules)) {
      expect(rule.labels).toMatchObject({ team: 'platform' });
      expect(['warning', 'critical']).toContain(rule.labels['severity']);
      const selectors = rule.expr.match(/mtls_injector_\w+\{[^}]*\}/g) ?? [];
      expect(selectors.length, rule.alert).toBeGreaterThan(0);
      for (const s of selectors) expect(s, rule.alert).toContain(`namespace="${NAMESPACE}"`);
    }
  });

  it('dashboard queries pass promtool check rules (as recording rules)', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
      panels: { targets?: { expr: string }[] }[];
    };
    const exprs = dashboard.panels.flatMap((p) =>
      (p.targets ?? []).map((t) => expandGrafanaVariables(t.expr)),
    );
    const file = join(work, 'dashboard.yaml');
    writeFileSync(
      file,
      stringify({
        groups: [{ name: 'dashboard', rules: exprs.map((expr, i) => ({ record: `dashboard:q${i}`, expr })) }],
      }),
    );
    const r = promtool(['check', 'rules', file]);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain(`SUCCESS: ${exprs.length} rules found`);
  });
});

describeWithTools(['helm'], 'chart alerts and dashboard are optional', () => {
  it('renders neither by default', () => {
    expect(ofKind(render(), 'PrometheusRule')).toEqual([]);
    expect(render().filter((o) => o.metadata.name.endsWith('-dashboard'))).toEqual([]);
  });

  it('renders the dashboard JSON unchanged into a ConfigMap the Grafana sidecar finds', () => {
    const cm = find<{
      metadata: { namespace: string; labels: Record<string, string> };
      data: Record<string, string>;
    }>(
      render(['--set', 'grafanaDashboard.enabled=true', '--set', 'grafanaDashboard.namespace=monitoring']),
      'ConfigMap',
      'mtls-injector-dashboard',
    );
    expect(cm.metadata.namespace).toBe('monitoring');
    expect(cm.metadata.labels['grafana_dashboard']).toBe('1');
    expect(JSON.parse(cm.data['mtls-injector.json'] ?? '')).toEqual(
      JSON.parse(readFileSync(DASHBOARD, 'utf8')),
    );
  });
});
