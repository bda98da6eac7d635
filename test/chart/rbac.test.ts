import type { IClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import type { IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import type { IRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import type { IPolicyRule } from 'kubernetes-models/rbac.authorization.k8s.io/v1/PolicyRule';
import type { IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { expect, it } from 'vitest';
import { find, describeWithHelm, NAMESPACE, ofKind, render, VALUE_SETS } from './helm.js';

const ROTATOR = 'mtls-injector-rotator';
const UNREGISTER = 'mtls-injector-unregister';

/** `group/resource[name] verb` strings, so a rule change shows up as a readable diff. */
function grants(rules: readonly IPolicyRule[]): string[] {
  const out: string[] = [];
  for (const r of rules) {
    for (const group of r.apiGroups ?? [])
      for (const resource of r.resources ?? [])
        for (const verb of r.verbs) {
          const names = r.resourceNames ? `[${r.resourceNames.join(',')}]` : '';
          out.push(`${group === '' ? 'core' : group}/${resource}${names} ${verb}`);
        }
  }
  return out.sort();
}

const READ = ['get', 'list', 'watch'];
/** Secrets: every verb the Secret controller, the CA manager and the webhook certificate use, nothing more. */
const SECRETS = ['create', 'get', 'list', 'watch', 'update'].map((v) => `core/secrets ${v}`);
/** The Pod Certificates signer's grants: requests, their status, sign/attest and its ClusterTrustBundle by name. */
const SIGNER = [
  ...READ.map((v) => `certificates.k8s.io/podcertificaterequests ${v}`),
  'certificates.k8s.io/podcertificaterequests/status update',
  'certificates.k8s.io/signers[mtls-injector.io/spiffe] sign',
  'certificates.k8s.io/signers[mtls-injector.io/spiffe] attest',
  'certificates.k8s.io/clustertrustbundles create',
  'certificates.k8s.io/clustertrustbundles[mtls-injector.io:spiffe:trust-bundle] get',
  'certificates.k8s.io/clustertrustbundles[mtls-injector.io:spiffe:trust-bundle] update',
];
const CONFIGMAPS = ['create', 'get', 'update'].map((v) => `core/configmaps ${v}`);
/**
 * Every verb a use in src/rotator (and src/onboard with rotator.onboardingAuto) but Secrets and the signer:
 * the same in every delivery mode.
 */
const commonClusterGrants = [
  ...['pods', 'namespaces'].flatMap((r) => READ.map((v) => `core/${r} ${v}`)),
  'core/services list',
  'core/services watch',
  'core/events create',
  ...['get', 'update'].map(
    (v) => `admissionregistration.k8s.io/mutatingwebhookconfigurations[mtls-injector] ${v}`,
  ),
  'apps/replicasets list',
];
/** The default install: delivery.mode=auto, podCertificate.trustBundle=auto. */
const baseClusterGrants = [...SECRETS, ...commonClusterGrants, ...SIGNER, ...CONFIGMAPS];

describeWithHelm('chart RBAC', () => {
  it('grants the rotator exactly what it uses cluster-wide: no patch or delete of Secrets, no workloads', () => {
    const role = find<IClusterRole>(render(), 'ClusterRole', ROTATOR);
    expect(grants(role.rules ?? [])).toEqual([...baseClusterGrants].sort());
  });

  it('adds get, list and patch on Deployments, StatefulSets and DaemonSets only with rotator.onboardingAuto', () => {
    const role = find<IClusterRole>(render(['--set', 'rotator.onboardingAuto=true']), 'ClusterRole', ROTATOR);
    const extra = ['deployments', 'statefulsets', 'daemonsets'].flatMap((r) =>
      ['get', 'list', 'patch'].map((v) => `apps/${r} ${v}`),
    );
    expect(grants(role.rules ?? [])).toEqual([...baseClusterGrants, ...extra].sort());
  });

  it('limits the webhook-configuration rule to the configured name', () => {
    const role = find<IClusterRole>(
      render(['--set', 'webhook.configurationName=custom-name']),
      'ClusterRole',
      ROTATOR,
    );
    const rule = role.rules?.find((r) => r.resources?.includes('mutatingwebhookconfigurations'));
    expect(rule?.resourceNames).toEqual(['custom-name']);
  });

  it('delivery.mode=secret: no signer, no ConfigMaps beyond the delivery facts', () => {
    const role = find<IClusterRole>(render(['--set', 'delivery.mode=secret']), 'ClusterRole', ROTATOR);
    expect(grants(role.rules ?? [])).toEqual([...SECRETS, ...commonClusterGrants].sort());
  });

  it('delivery.mode=podCertificate with ClusterTrustBundles: no Secret and no ConfigMap rights outside the release namespace', () => {
    const objects = render([
      '--set',
      'delivery.mode=podCertificate',
      '--set',
      'podCertificate.trustBundle=clusterTrustBundle',
    ]);
    const cluster = find<IClusterRole>(objects, 'ClusterRole', ROTATOR);
    expect(grants(cluster.rules ?? [])).toEqual([...commonClusterGrants, ...SIGNER].sort());
    // The CA and the webhook's serving certificate stay in the release namespace's Role.
    const role = find<IRole>(objects, 'Role', ROTATOR);
    expect(grants(role.rules ?? []).filter((g) => g.startsWith('core/secrets'))).toEqual([...SECRETS].sort());
  });

  it('signs for exactly the configured signer name', () => {
    const role = find<IClusterRole>(
      render(['--set', 'podCertificate.signerName=example.com/workloads']),
      'ClusterRole',
      ROTATOR,
    );
    const signers = role.rules?.find((r) => r.resources?.includes('signers'));
    expect(signers).toEqual({
      apiGroups: ['certificates.k8s.io'],
      resources: ['signers'],
      resourceNames: ['example.com/workloads'],
      verbs: ['sign', 'attest'],
    });
    const bundles = role.rules?.find((r) => r.resources?.includes('clustertrustbundles') && r.resourceNames);
    expect(bundles?.resourceNames).toEqual(['example.com:workloads:trust-bundle']);
  });

  it('keeps leases, the trust-bundle, CRL and delivery facts ConfigMaps and the revocation record in a namespaced Role: create, and get/update by name', () => {
    const objects = render();
    const role = find<IRole>(objects, 'Role', ROTATOR);
    expect(role.metadata?.namespace).toBe(NAMESPACE);
    expect(grants(role.rules ?? [])).toEqual([
      'coordination.k8s.io/leases create',
      'coordination.k8s.io/leases[mtls-injector-rotator] get',
      'coordination.k8s.io/leases[mtls-injector-rotator] update',
      'core/configmaps create',
      'core/configmaps[mtls-injector-trust-bundle,mtls-injector-crl,mtls-injector-revocations,mtls-injector-delivery] get',
      'core/configmaps[mtls-injector-trust-bundle,mtls-injector-crl,mtls-injector-revocations,mtls-injector-delivery] update',
    ]);
    const binding = find<IRoleBinding>(objects, 'RoleBinding', ROTATOR);
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: ROTATOR });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: ROTATOR, namespace: NAMESPACE }]);
    const cluster = find<IClusterRoleBinding>(objects, 'ClusterRoleBinding', ROTATOR);
    expect(cluster.roleRef.name).toBe(ROTATOR);
    expect(cluster.subjects).toEqual([{ kind: 'ServiceAccount', name: ROTATOR, namespace: NAMESPACE }]);
  });

  it.each(Object.entries(VALUE_SETS))(
    'binds nothing to the webhook and uses no wildcards (%s)',
    (_name, set) => {
      const objects = render(set);
      for (const kind of ['RoleBinding', 'ClusterRoleBinding']) {
        for (const b of ofKind(objects, kind) as unknown as IRoleBinding[]) {
          // The rotator, and the uninstall hook (which may only delete the webhook configuration, below).
          for (const s of b.subjects ?? [])
            expect([ROTATOR, UNREGISTER], `${kind}/${b.metadata?.name}`).toContain(s.name);
        }
      }
      for (const kind of ['Role', 'ClusterRole']) {
        for (const r of ofKind(objects, kind) as unknown as IRole[]) {
          expect(JSON.stringify(r.rules)).not.toContain('"*"');
        }
      }
    },
  );

  it('lets the uninstall hook delete our webhook configuration and nothing else; it runs only on helm uninstall', () => {
    const objects = render(VALUE_SETS.defaults ?? []);
    const role = find<IRole>(objects, 'ClusterRole', UNREGISTER);
    expect(role.rules).toEqual([
      {
        apiGroups: ['admissionregistration.k8s.io'],
        resources: ['mutatingwebhookconfigurations'],
        resourceNames: ['mtls-injector'],
        verbs: ['delete'],
      },
    ]);
    const hooks = objects.filter((o) => o.metadata.name === UNREGISTER);
    expect(hooks.map((o) => o.kind).sort()).toEqual([
      'ClusterRole',
      'ClusterRoleBinding',
      'Job',
      'ServiceAccount',
    ]);
    for (const o of hooks) {
      const annotations = (o.metadata as { annotations?: Record<string, string> }).annotations;
      expect(annotations?.['helm.sh/hook'], o.kind).toBe('pre-delete');
    }
  });
});
