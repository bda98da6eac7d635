/**
 * Evaluates the webhook entries' CEL matchConditions against pods with a CEL implementation
 * (@bufbuild/cel), so the skip rules are tested as behaviour, not as text. A true result means the API
 * server calls the webhook. The real API server compiles them in the end-to-end suite.
 */
import type { IMutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration';
import { expect, it } from 'vitest';
import { find, describeWithHelm, render } from './helm.js';

interface Cel {
  run(expression: string, bindings: Record<string, unknown>): unknown;
}
/** A variable specifier keeps typecheck working while the package is not installed. */
const CEL_PACKAGE = '@bufbuild/cel';
const cel = await import(CEL_PACKAGE).then(
  (m) => m as Cel,
  () => undefined,
);
if (cel === undefined) {
  console.warn(
    `test/chart: ${CEL_PACKAGE} is not installed (a devDependency); skipping the CEL evaluation tests.`,
  );
}

/** CEL sees JSON objects as maps: convert plain objects recursively. */
function toCel(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toCel);
  if (value !== null && typeof value === 'object') {
    return new Map(Object.entries(value).map(([k, v]) => [k, toCel(v)]));
  }
  return value;
}

const mount = { name: 'mtls-certs', mountPath: '/var/run/mtls', readOnly: true };
const managed = { labels: { 'mtls-injector.io/managed': 'true', app: 'a' } };
const pods: Record<string, { pod: object; notMirror: boolean; notInjected: boolean }> = {
  'plain pod': {
    pod: { metadata: {}, spec: { containers: [{ name: 'app' }] } },
    notMirror: true,
    notInjected: true,
  },
  'mirror pod': {
    pod: {
      metadata: { annotations: { 'kubernetes.io/config.mirror': 'abc' } },
      spec: { containers: [{ name: 'a' }] },
    },
    notMirror: false,
    notInjected: true,
  },
  'pod with other annotations': {
    pod: {
      metadata: { annotations: { x: 'y' }, labels: { app: 'a' } },
      spec: { containers: [{ name: 'a' }] },
    },
    notMirror: true,
    notInjected: true,
  },
  'fully injected pod': {
    pod: {
      metadata: managed,
      spec: {
        initContainers: [{ name: 'mtls-init', volumeMounts: [mount] }],
        containers: [{ name: 'a', volumeMounts: [{ name: 'data', mountPath: '/d' }, mount] }],
      },
    },
    notMirror: true,
    notInjected: false,
  },
  'injected pod without init containers': {
    pod: { metadata: managed, spec: { containers: [{ name: 'a', volumeMounts: [mount] }] } },
    notMirror: true,
    notInjected: false,
  },
  'injected pod another webhook added a container to': {
    pod: {
      metadata: managed,
      spec: {
        initContainers: [{ name: 'mtls-init', volumeMounts: [mount] }],
        containers: [{ name: 'a', volumeMounts: [mount] }, { name: 'sidecar' }],
      },
    },
    notMirror: true,
    notInjected: true,
  },
  'injected pod another webhook added an init container to': {
    pod: {
      metadata: managed,
      spec: {
        initContainers: [
          { name: 'mtls-init', volumeMounts: [mount] },
          { name: 'other', volumeMounts: [] },
        ],
        containers: [{ name: 'a', volumeMounts: [mount] }],
      },
    },
    notMirror: true,
    notInjected: true,
  },
  'mounts but no managed label': {
    pod: { metadata: { labels: { app: 'a' } }, spec: { containers: [{ name: 'a', volumeMounts: [mount] }] } },
    notMirror: true,
    notInjected: true,
  },
};

describeWithHelm(
  'chart matchConditions (CEL)',
  () => {
    const mwc = find<IMutatingWebhookConfiguration>(
      render(),
      'MutatingWebhookConfiguration',
      'mtls-injector',
    );
    const conditions = mwc.webhooks?.[0]?.matchConditions ?? [];

    it('uses the same conditions on every entry', () => {
      for (const w of mwc.webhooks ?? []) expect(w.matchConditions).toEqual(conditions);
    });

    it.each(Object.entries(pods))('decides %s', (_name, { pod, notMirror, notInjected }) => {
      const results = Object.fromEntries(
        conditions.map((c) => [c.name, cel?.run(c.expression, { object: toCel(pod) })]),
      );
      expect(results).toEqual({ 'not-mirror-pod': notMirror, 'not-already-injected': notInjected });
    });
  },
  cel !== undefined,
);
