import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { expect, it } from 'vitest';
import { find, describeWithHelm, NAMESPACE, ofKind, render, VALUE_SETS } from './helm.js';

const WEBHOOK = 'mtls-injector-webhook';
const ROTATOR = 'mtls-injector-rotator';

describeWithHelm('chart workloads', () => {
  const objects = render();
  const webhook = find<IDeployment>(objects, 'Deployment', WEBHOOK);
  const rotator = find<IDeployment>(objects, 'Deployment', ROTATOR);

  it('renders exactly the expected objects by default, all in the release namespace when namespaced', () => {
    const names = objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(names).toEqual(
      [
        'ClusterRole/mtls-injector-rotator',
        'ClusterRole/mtls-injector-unregister',
        'ClusterRoleBinding/mtls-injector-rotator',
        'ClusterRoleBinding/mtls-injector-unregister',
        'Job/mtls-injector-unregister',
        'ConfigMap/mtls-injector-config',
        `Deployment/${ROTATOR}`,
        `Deployment/${WEBHOOK}`,
        'MutatingWebhookConfiguration/mtls-injector',
        `PodDisruptionBudget/${ROTATOR}`,
        `PodDisruptionBudget/${WEBHOOK}`,
        `Role/${ROTATOR}`,
        `RoleBinding/${ROTATOR}`,
        `Service/${ROTATOR}-metrics`,
        `Service/${WEBHOOK}`,
        `Service/${WEBHOOK}-metrics`,
        `ServiceAccount/${ROTATOR}`,
        `ServiceAccount/${WEBHOOK}`,
        'ServiceAccount/mtls-injector-unregister',
        'ValidatingAdmissionPolicy/mtls-injector-pod-keys',
        'ValidatingAdmissionPolicyBinding/mtls-injector-pod-keys',
      ].sort(),
    );
    const clusterScoped = new Set([
      'ClusterRole',
      'ClusterRoleBinding',
      'MutatingWebhookConfiguration',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
    ]);
    for (const o of objects) {
      expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(
        clusterScoped.has(o.kind) ? undefined : NAMESPACE,
      );
    }
  });

  it('renders no certificate, key or Secret: the rotator owns them', () => {
    for (const set of Object.values(VALUE_SETS)) {
      const all = render(set);
      expect(ofKind(all, 'Secret')).toEqual([]);
      expect(JSON.stringify(all)).not.toMatch(/caBundle|BEGIN [A-Z ]*(CERTIFICATE|PRIVATE KEY)/);
    }
  });

  it('runs two replicas of each, with PodDisruptionBudgets and preferred per-node anti-affinity', () => {
    for (const [d, component] of [
      [webhook, 'webhook'],
      [rotator, 'rotator'],
    ] as const) {
      expect(d.spec?.replicas).toBe(2);
      const pdb = find<IPodDisruptionBudget>(objects, 'PodDisruptionBudget', d.metadata?.name ?? '');
      expect(pdb.spec?.minAvailable).toBe(1);
      expect(pdb.spec?.selector?.matchLabels).toEqual(d.spec?.selector.matchLabels);
      expect(d.spec?.selector.matchLabels?.['app.kubernetes.io/component']).toBe(component);
      const terms =
        d.spec?.template.spec?.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution;
      expect(terms?.[0]?.podAffinityTerm.topologyKey).toBe('kubernetes.io/hostname');
      expect(terms?.[0]?.podAffinityTerm.labelSelector?.matchLabels).toEqual(d.spec?.selector.matchLabels);
    }
    expect(webhook.spec?.strategy?.rollingUpdate?.maxUnavailable).toBe(0);
  });

  it.each(Object.entries(VALUE_SETS))(
    'gives every container a restricted securityContext, resources and probes (%s)',
    (_name, set) => {
      for (const d of ofKind(render(set), 'Deployment') as unknown as IDeployment[]) {
        const pod = d.spec?.template.spec;
        expect(pod?.securityContext).toMatchObject({
          runAsNonRoot: true,
          runAsUser: 65532,
          seccompProfile: { type: 'RuntimeDefault' },
        });
        expect(pod?.hostNetwork ?? false).toBe(false);
        const containers: IContainer[] = [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])];
        expect(containers.length).toBeGreaterThan(0);
        for (const c of containers) {
          const where = `${d.metadata?.name}/${c.name}`;
          expect(c.securityContext, where).toEqual({
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            runAsNonRoot: true,
            runAsUser: 65532,
            runAsGroup: 65532,
            capabilities: { drop: ['ALL'] },
            seccompProfile: { type: 'RuntimeDefault' },
          });
          expect(c.resources?.requests?.['cpu'], where).toBeDefined();
          expect(c.resources?.requests?.['memory'], where).toBeDefined();
          expect(c.resources?.limits?.['memory'], where).toBeDefined();
          const metricsPort = c.ports?.find((p) => p.name === 'metrics')?.containerPort;
          expect(metricsPort, where).toBeDefined();
          expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
          expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
        }
      }
    },
  );

  it('serves the webhook on 10250 behind Service port 443, probes on 9090, rotator probes on 9091', () => {
    const c = webhook.spec?.template.spec?.containers[0];
    expect(c?.args).toEqual(['webhook']);
    expect(c?.ports).toEqual([
      { name: 'https', containerPort: 10250, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
    ]);
    const svc = find<IService>(objects, 'Service', WEBHOOK);
    expect(svc.spec?.ports).toEqual([{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }]);
    expect(svc.spec?.selector).toEqual(webhook.spec?.selector.matchLabels);
    const r = rotator.spec?.template.spec?.containers[0];
    expect(r?.args).toEqual(['rotator']);
    expect(r?.ports).toEqual([{ name: 'metrics', containerPort: 9091, protocol: 'TCP' }]);
    for (const [name, d, port] of [
      [`${WEBHOOK}-metrics`, webhook, 9090],
      [`${ROTATOR}-metrics`, rotator, 9091],
    ] as const) {
      const m = find<IService>(objects, 'Service', name);
      expect(m.spec?.ports).toEqual([{ name: 'metrics', port, targetPort: 'metrics', protocol: 'TCP' }]);
      expect(m.spec?.selector).toEqual(d.spec?.selector.matchLabels);
    }
  });

  it('mounts the rotator-written serving certificate where the config file says, read-only', () => {
    const spec = webhook.spec?.template.spec;
    const tls = spec?.volumes?.find((v) => v.name === 'tls');
    expect(tls?.secret).toMatchObject({ secretName: 'mtls-injector-webhook-tls', optional: false });
    const mount = spec?.containers[0]?.volumeMounts?.find((m) => m.name === 'tls');
    expect(mount).toEqual({ name: 'tls', mountPath: '/etc/mtls-injector/tls', readOnly: true });
    expect(rotator.spec?.template.spec?.volumes?.map((v) => v.name)).toEqual(['config']);
  });

  it('gives the webhook no API token and the rotator its own account', () => {
    const sa = find<IServiceAccount>(objects, 'ServiceAccount', WEBHOOK);
    expect(sa.automountServiceAccountToken).toBe(false);
    expect(webhook.spec?.template.spec?.serviceAccountName).toBe(WEBHOOK);
    expect(webhook.spec?.template.spec?.automountServiceAccountToken).toBe(false);
    expect(rotator.spec?.template.spec?.serviceAccountName).toBe(ROTATOR);
  });

  it('uses the chart appVersion as image tag, or the digest when given', () => {
    expect(webhook.spec?.template.spec?.containers[0]?.image).toBe(
      'ghcr.io/mtls-injector/mtls-injector:0.1.0',
    );
    const digest = `sha256:${'a'.repeat(64)}`;
    const pinned = find<IDeployment>(render(['--set', `image.digest=${digest}`]), 'Deployment', ROTATOR);
    expect(pinned.spec?.template.spec?.containers[0]?.image).toBe(
      `ghcr.io/mtls-injector/mtls-injector@${digest}`,
    );
  });

  it('rolls the pods when the config changes', () => {
    const before = webhook.spec?.template.metadata?.annotations?.['checksum/config'];
    const after = find<IDeployment>(render(['--set', 'trustDomain=example.org']), 'Deployment', WEBHOOK).spec
      ?.template.metadata?.annotations?.['checksum/config'];
    expect(before).toMatch(/^[0-9a-f]{64}$/);
    expect(after).not.toBe(before);
  });
});
