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
/** Every verb a use in src/rotator (and src/onboard with rotator.onboardingAuto): nothing more. */
const baseClusterGrants = [
  ...['create', 'get', 'list', 'watch', 'update'].map((v) => `core/secrets ${v}`),
  ...['pods', 'namespaces'].flatMap((r) => READ.map((v) => `core/${r} ${v}`)),
  'core/services list',
  'core/services watch',
  'core/events create',
  ...['get', 'update'].map(
    (v) => `admissionregistration.k8s.io/mutatingwebhookconfigurations[mtls-injector] ${v}`,
  ),
  'apps/replicasets list',
];

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

  it('keeps leases, the trust-bundle and CRL ConfigMaps and the revocation record in a namespaced Role: create, and get/update by name', () => {
    const objects = render();
    const role = find<IRole>(objects, 'Role', ROTATOR);
    expect(role.metadata?.namespace).toBe(NAMESPACE);
    expect(grants(role.rules ?? [])).toEqual([
      'coordination.k8s.io/leases create',
      'coordination.k8s.io/leases[mtls-injector-rotator] get',
      'coordination.k8s.io/leases[mtls-injector-rotator] update',
      'core/configmaps create',
      'core/configmaps[mtls-injector-trust-bundle,mtls-injector-crl,mtls-injector-revocations] get',
      'core/configmaps[mtls-injector-trust-bundle,mtls-injector-crl,mtls-injector-revocations] update',
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
