/**
 * Helpers for the chart tests: run the real helm binary (`.tools/bin/helm`, installed by
 * scripts/setup-tools.sh) and look at what it renders. Renders are cached per argument list.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describeWithTools, REPO_ROOT, TOOLS } from '../tools.js';

export { REPO_ROOT };
export const CHART_DIR = resolve(REPO_ROOT, 'charts/mtls-injector');
export const HELM = TOOLS.helm;
export const RELEASE = 'mtls-injector';
export const NAMESPACE = 'mtls-injector';

/**
 * `describe` for a suite that needs helm (and whatever else `ready` says); without helm the suite is skipped
 * and test/global-setup.ts says so, once. See describeWithTools.
 */
export function describeWithHelm(name: string, body: () => void, ready = true): void {
  describeWithTools(['helm'], name, body, ready);
}

/** A rendered Kubernetes object; `find` casts it to a kubernetes-models interface for typed assertions. */
export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly [field: string]: unknown;
}

export interface HelmResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs helm with the given arguments (no shell). */
export function helm(args: readonly string[]): HelmResult {
  const r = spawnSync(HELM, [...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const cache = new Map<string, K8sObject[]>();

/**
 * `helm template mtls-injector charts/mtls-injector -n mtls-injector <extra>` parsed into objects.
 * Throws with helm's stderr when rendering fails.
 */
export function render(extra: readonly string[] = []): K8sObject[] {
  const key = JSON.stringify(extra);
  const hit = cache.get(key);
  if (hit) return hit;
  const r = helm(['template', RELEASE, CHART_DIR, '--namespace', NAMESPACE, ...extra]);
  if (r.status !== 0) throw new Error(`helm template ${extra.join(' ')} failed:\n${r.stderr}`);
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(r.stdout)) {
    if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors[0]?.message}`);
    const value = doc.toJS() as K8sObject | null;
    if (value !== null) objects.push(value);
  }
  cache.set(key, objects);
  return objects;
}

/** Every object of one kind. */
export function ofKind(objects: readonly K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

/** The one object of a kind and name, typed as T; throws (naming what exists) when missing. */
export function find<T = K8sObject>(objects: readonly K8sObject[], kind: string, name: string): T {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) {
    const have = objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ');
    throw new Error(`expected ${kind}/${name} in the render, got: ${have}`);
  }
  return found as unknown as T;
}

/** The value sets scripts/check-chart.sh renders; each must lint and render. */
export const VALUE_SETS: Readonly<Record<string, readonly string[]>> = {
  defaults: [],
  'failurePolicy Ignore': ['--set', 'webhook.failurePolicy=Ignore'],
  'networkPolicy on': ['--set', 'networkPolicy.enabled=true'],
  'serviceMonitor on': ['--set', 'serviceMonitor.enabled=true'],
  'onboarding auto': ['--set', 'rotator.onboardingAuto=true'],
  'alerts and dashboard on': [
    '--set',
    'prometheusRule.enabled=true',
    '--set',
    'grafanaDashboard.enabled=true',
  ],
  everything: [
    '--set',
    'webhook.failurePolicy=Ignore',
    '--set',
    'networkPolicy.enabled=true',
    '--set',
    'serviceMonitor.enabled=true',
    '--set',
    'rotator.onboardingAuto=true',
    '--set',
    'prometheusRule.enabled=true',
    '--set',
    'grafanaDashboard.enabled=true',
    '--set',
    'webhook.topologySpread.enabled=true',
    '--set',
    'imagePullSecrets={regcred}',
    '--set',
    'image.digest=sha256:' + 'a'.repeat(64),
  ],
};

/** The shape of a Kubernetes LabelSelector (structurally compatible with kubernetes-models' type). */
export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly { key: string; operator: string; values?: string[] }[];
}

/** Kubernetes label-selector semantics (an empty or absent selector matches everything). */
export function selectorMatches(
  selector: LabelSelector | undefined,
  labels: Record<string, string>,
): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const req of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, req.key);
    const value = labels[req.key];
    switch (req.operator) {
      case 'In':
        if (!has || !(req.values ?? []).includes(value as string)) return false;
        break;
      case 'NotIn':
        if (has && (req.values ?? []).includes(value as string)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        throw new Error(`unknown label selector operator ${req.operator}`);
    }
  }
  return true;
}
