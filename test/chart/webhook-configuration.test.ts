import type { IMutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration';
import type { IMutatingWebhook } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhook';
import { expect, it } from 'vitest';
import { DELIVERY_LABEL } from '../../src/core/delivery.js';
import { ALWAYS_EXCLUDED_NAMESPACES, OPT_IN_LABEL } from '../../src/core/names.js';
import { WEBHOOK_ENTRIES, webhookEntry, webhookSelection } from '../../src/model/selection.js';
import { find, describeWithHelm, NAMESPACE, render, selectorMatches } from './helm.js';

function webhooks(extra: readonly string[] = []): IMutatingWebhook[] {
  return (
    find<IMutatingWebhookConfiguration>(render(extra), 'MutatingWebhookConfiguration', 'mtls-injector')
      .webhooks ?? []
  );
}

describeWithHelm('chart MutatingWebhookConfiguration', () => {
  const entries = webhooks();

  it('has the twelve entries (opt-in kind × delivery label), each to the right path of our Service', () => {
    expect(entries.map((w) => [w.name, w.clientConfig.service?.path])).toEqual(
      WEBHOOK_ENTRIES.map((e) => [e.name, e.path]),
    );
    expect(entries.slice(0, 4).map((w) => [w.name, w.clientConfig.service?.path])).toEqual([
      ['enabled.mtls-injector.io', '/mutate'],
      ['enabled-secret.mtls-injector.io', '/mutate/secret'],
      ['enabled-pod-certificate.mtls-injector.io', '/mutate/pod-certificate'],
      ['enabled-invalid-delivery.mtls-injector.io', '/mutate/invalid-delivery'],
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
      // The strict entries never skip a pod for its shape, which its author can write (test/chart/match-conditions.test.ts).
      expect(w.matchConditions?.map((c) => c.name)).toEqual(
        w.name.startsWith('strict') ? ['not-mirror-pod'] : ['not-mirror-pod', 'not-already-injected'],
      );
    }
  });

  it('makes failurePolicy and timeout configurable, but keeps the strict entry failing closed', () => {
    const changed = webhooks(['--set', 'webhook.failurePolicy=Ignore', '--set', 'webhook.timeoutSeconds=10']);
    expect(changed.map((w) => [w.name, w.failurePolicy, w.timeoutSeconds])).toEqual(
      WEBHOOK_ENTRIES.map((e) => [e.name, e.kind === 'strict' ? 'Fail' : 'Ignore', 10]),
    );
  });

  it('excludes kube-system, kube-node-lease and the release namespace by kubernetes.io/metadata.name only', () => {
    for (const w of entries) {
      const exclusions = (w.namespaceSelector?.matchExpressions ?? []).filter(
        (e) => e.key !== OPT_IN_LABEL && e.key !== DELIVERY_LABEL,
      );
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

  it('sends every (namespace, delivery label, pod) combination to at most one entry, and to the right one', () => {
    const namespaceLabels: Record<string, string | undefined> = {
      unlabelled: undefined,
      enabled: 'enabled',
      strict: 'strict',
      other: 'disabled',
    };
    const deliveryLabels: Record<string, string | undefined> = {
      unset: undefined,
      secret: 'secret',
      podCertificate: 'podCertificate',
      invalid: 'pod-certificate',
    };
    const podLabels: Record<string, string | undefined> = {
      none: undefined,
      enabled: 'enabled',
      other: 'no',
    };
    const namespaces = ['default', 'team-a', ...ALWAYS_EXCLUDED_NAMESPACES, NAMESPACE];
    for (const nsName of namespaces) {
      for (const [nsCase, nsValue] of Object.entries(namespaceLabels)) {
        for (const [deliveryCase, deliveryValue] of Object.entries(deliveryLabels)) {
          for (const [podCase, podValue] of Object.entries(podLabels)) {
            const nsSet: Record<string, string> = { 'kubernetes.io/metadata.name': nsName };
            if (nsValue !== undefined) nsSet[OPT_IN_LABEL] = nsValue;
            if (deliveryValue !== undefined) nsSet[DELIVERY_LABEL] = deliveryValue;
            const podSet: Record<string, string> = { app: 'x' };
            if (podValue !== undefined) podSet[OPT_IN_LABEL] = podValue;
            const hit = entries
              .filter(
                (w) =>
                  selectorMatches(w.namespaceSelector, nsSet) && selectorMatches(w.objectSelector, podSet),
              )
              .map((w) => w.name);
            const excluded =
              nsName === NAMESPACE || (ALWAYS_EXCLUDED_NAMESPACES as readonly string[]).includes(nsName);
            const entry = (kind: 'enabled' | 'strict' | 'pod') =>
              webhookEntry(kind, deliveryCase as 'unset' | 'secret' | 'podCertificate' | 'invalid').name;
            let expected: string[] = [];
            if (!excluded && nsCase === 'enabled') expected = [entry('enabled')];
            if (!excluded && nsCase === 'strict') expected = [entry('strict')];
            if (!excluded && nsCase === 'unlabelled' && podCase === 'enabled') expected = [entry('pod')];
            expect(
              hit,
              `namespace ${nsName} (${nsCase}, delivery ${deliveryCase}), pod label ${podCase}`,
            ).toEqual(expected);
            // check's model of the entries agrees with the chart.
            const selection = webhookSelection(nsName, nsSet, podSet, [
              ...ALWAYS_EXCLUDED_NAMESPACES,
              NAMESPACE,
            ]);
            expect(selection.selected ? [selection.entryName] : []).toEqual(expected);
          }
        }
      }
    }
  });

  it('calls webhook.url instead of the Service when set (a webhook outside the cluster)', () => {
    const byUrl = webhooks(['--set', 'webhook.url=https://127.0.0.1:8443']);
    expect(byUrl.map((w) => w.clientConfig)).toEqual(
      WEBHOOK_ENTRIES.map((e) => ({ url: `https://127.0.0.1:8443${e.path}` })),
    );
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
