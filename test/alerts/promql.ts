/**
 * What the alert and dashboard tests need: the metric names the code registers (from the registries the
 * webhook and the rotator build), the series names Prometheus derives from them, and the metric names a
 * PromQL expression selects (parsed with Prometheus' own grammar, @prometheus-io/lezer-promql).
 */
import { parser } from '@prometheus-io/lezer-promql';
import { Registry } from 'prom-client';
import { createWebhookMetrics } from '../../src/observability/metrics.js';
import { createRotatorMetrics } from '../../src/rotator/metrics.js';

/**
 * Every series name the webhook and the rotator expose: each registered metric, and for a histogram its
 * `_bucket`, `_sum` and `_count` (a summary: `_sum`, `_count`). The webhook registry is built as
 * src/webhook/server.ts builds it (createWebhookMetrics() with process metrics); the rotator's as
 * src/cli/rotator.ts does (a new Registry and createRotatorMetrics).
 */
export async function exportedSeries(): Promise<Set<string>> {
  const webhook = createWebhookMetrics().registry;
  const rotator = new Registry();
  createRotatorMetrics(rotator, () => ({
    queueDepth: 0,
    managed: 0,
    soonestExpiry: 0,
    lowLife: 0,
    caExpiry: 0,
    caLost: false,
    leader: false,
    driftPods: 0,
    revoked: 0,
    crlAge: 0,
    lostOptInPods: 0,
  }));
  const names = new Set<string>();
  for (const registry of [webhook, rotator]) {
    for (const metric of await registry.getMetricsAsJSON()) {
      const type = String(metric.type);
      names.add(metric.name);
      if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(metric.name + s);
      if (type === 'summary') for (const s of ['_sum', '_count']) names.add(metric.name + s);
    }
  }
  return names;
}

/** The metric names an expression selects, and the syntax errors found while parsing it. */
export interface Selection {
  readonly metrics: readonly string[];
  readonly errors: readonly string[];
}

/** Parses one PromQL expression and collects the metric name of every vector selector. */
export function selectedMetrics(expr: string): Selection {
  const metrics: string[] = [];
  const errors: string[] = [];
  parser.parse(expr).iterate({
    enter(node) {
      if (node.type.isError)
        errors.push(`syntax error at ${node.from}: ${JSON.stringify(expr.slice(node.from, node.from + 20))}`);
      if (node.name !== 'VectorSelector') return;
      const id = node.node.getChild('Identifier');
      if (id) {
        metrics.push(expr.slice(id.from, id.to));
        return;
      }
      // {__name__="metric"} has no identifier: the name is a matcher.
      const byName = /__name__\s*=\s*"([^"]+)"/.exec(expr.slice(node.from, node.to));
      if (byName?.[1] !== undefined) metrics.push(byName[1]);
      else errors.push(`selector without a metric name: ${expr.slice(node.from, node.to)}`);
    },
  });
  return { metrics, errors };
}

/**
 * Replaces Grafana's variables with values PromQL accepts, so a dashboard query can be parsed (and checked
 * by promtool) like a rule expression.
 */
export function expandGrafanaVariables(expr: string): string {
  return expr
    .replace(/\$__(rate_)?interval\b/g, '5m')
    .replace(/\$__range\b/g, '1h')
    .replace(/\$\{?(\w+)\}?/g, 'grafana_var_$1');
}
