import type { IMutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration';
import type { IMutatingWebhook } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhook';
import { expect, it } from 'vitest';
import { ALWAYS_EXCLUDED_NAMESPACES, OPT_IN_LABEL } from '../../src/core/names.js';
import { find, describeWithHelm, NAMESPACE, render, selectorMatches } from './helm.js';

function webhooks(extra: readonly string[] = []): IMutatingWebhook[] {
  return (
    find<IMutatingWebhookConfiguration>(render(extra), 'MutatingWebhookConfiguration', 'mtls-injector')
      .webhooks ?? []
  );
}

describeWithHelm('chart MutatingWebhookConfiguration', () => {
  const entries = webhooks();

  it('has the three entries, each to the right path of our Service', () => {
    expect(entries.map((w) => [w.name, w.clientConfig.service?.path])).toEqual([
      ['enabled.mtls-injector.io', '/mutate'],
      ['strict.mtls-injector.io', '/mutate/strict'],
      ['pod.mtls-injector.io', '/mutate'],
    ]);
    for (const w of entries) {
      expect(w.clientConfig).toEqual({
        service: {
          name: 'mtls-injector-webhook',
          namespace: NAMESPACE,
          path: w.clientConfig.service?.path,
          port: 443,
        },
      });
    }
  });

  it('intercepts only pod CREATE, side-effect free, reinvoked, Equivalent, v1 reviews, with timeout 5', () => {
    for (const w of entries) {
      expect(w.rules).toEqual([
        {
          operations: ['CREATE'],
          apiGroups: [''],
          apiVersions: ['v1'],
          resources: ['pods'],
          scope: 'Namespaced',
        },
      ]);
      expect(w).toMatchObject({
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        reinvocationPolicy: 'IfNeeded',
        matchPolicy: 'Equivalent',
        failurePolicy: 'Fail',
        timeoutSeconds: 5,
      });
      expect(w.clientConfig.caBundle).toBeUndefined();
      // The strict entry never skips a pod for its shape, which its author can write (test/chart/match-conditions.test.ts).
      expect(w.matchConditions?.map((c) => c.name)).toEqual(
        w.name === 'strict.mtls-injector.io'
          ? ['not-mirror-pod']
          : ['not-mirror-pod', 'not-already-injected'],
      );
    }
  });

  it('makes failurePolicy and timeout configurable, but keeps the strict entry failing closed', () => {
    const changed = webhooks(['--set', 'webhook.failurePolicy=Ignore', '--set', 'webhook.timeoutSeconds=10']);
    expect(changed.map((w) => [w.name, w.failurePolicy, w.timeoutSeconds])).toEqual([
      ['enabled.mtls-injector.io', 'Ignore', 10],
      ['strict.mtls-injector.io', 'Fail', 10],
      ['pod.mtls-injector.io', 'Ignore', 10],
    ]);
  });

  it('excludes kube-system, kube-node-lease and the release namespace by kubernetes.io/metadata.name only', () => {
    for (const w of entries) {
      const exclusions = (w.namespaceSelector?.matchExpressions ?? []).filter((e) => e.key !== OPT_IN_LABEL);
      expect(exclusions).toEqual([
        {
          key: 'kubernetes.io/metadata.name',
          operator: 'NotIn',
          values: [...ALWAYS_EXCLUDED_NAMESPACES, NAMESPACE],
        },
      ]);
      expect(w.namespaceSelector?.matchLabels).toBeUndefined();
    }
  });

  it('sends every (namespace, pod) combination to at most one entry, and to the right one', () => {
    const namespaceLabels: Record<string, string | undefined> = {
      unlabelled: undefined,
      enabled: 'enabled',
      strict: 'strict',
      other: 'disabled',
    };
    const podLabels: Record<string, string | undefined> = {
      none: undefined,
      enabled: 'enabled',
      other: 'no',
    };
    const namespaces = ['default', 'team-a', ...ALWAYS_EXCLUDED_NAMESPACES, NAMESPACE];
    for (const nsName of namespaces) {
      for (const [nsCase, nsValue] of Object.entries(namespaceLabels)) {
        for (const [podCase, podValue] of Object.entries(podLabels)) {
          const nsSet: Record<string, string> = { 'kubernetes.io/metadata.name': nsName };
          if (nsValue !== undefined) nsSet[OPT_IN_LABEL] = nsValue;
          const podSet: Record<string, string> = { app: 'x' };
          if (podValue !== undefined) podSet[OPT_IN_LABEL] = podValue;
          const hit = entries
            .filter(
              (w) => selectorMatches(w.namespaceSelector, nsSet) && selectorMatches(w.objectSelector, podSet),
            )
            .map((w) => w.name);
          const excluded =
            nsName === NAMESPACE || (ALWAYS_EXCLUDED_NAMESPACES as readonly string[]).includes(nsName);
          let expected: string[] = [];
          if (!excluded && nsCase === 'enabled') expected = ['enabled.mtls-injector.io'];
          if (!excluded && nsCase === 'strict') expected = ['strict.mtls-injector.io'];
          if (!excluded && nsCase === 'unlabelled' && podCase === 'enabled')
            expected = ['pod.mtls-injector.io'];
          expect(hit, `namespace ${nsName} (${nsCase}), pod label ${podCase}`).toEqual(expected);
        }
      }
    }
  });

  it('calls webhook.url instead of the Service when set (a webhook outside the cluster)', () => {
    const byUrl = webhooks(['--set', 'webhook.url=https://127.0.0.1:8443']);
    expect(byUrl.map((w) => w.clientConfig)).toEqual([
      { url: 'https://127.0.0.1:8443/mutate' },
      { url: 'https://127.0.0.1:8443/mutate/strict' },
      { url: 'https://127.0.0.1:8443/mutate' },
    ]);
  });

  it('is named by webhook.configurationName and follows the release namespace', () => {
    const objects = render(['--set', 'webhook.configurationName=other', '--namespace', 'security']);
    const mwc = find<IMutatingWebhookConfiguration>(objects, 'MutatingWebhookConfiguration', 'other');
    for (const w of mwc.webhooks ?? []) {
      expect(w.clientConfig.service?.namespace).toBe('security');
      const values = w.namespaceSelector?.matchExpressions?.find(
        (e) => e.key === 'kubernetes.io/metadata.name',
      );
      expect(values?.values).toEqual(['kube-system', 'kube-node-lease', 'security']);
    }
  });
});
