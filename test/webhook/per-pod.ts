// Per-pod strings the API server writes into the pods of one template (src/webhook/pod-slots.ts), for tests.

/**
 * The per-pod strings the API server adds (pod-slots.ts): a token volume name's 5 characters and a
 * managedFields time. `undefined`: the pod as the golden case has it.
 */
export interface PerPod {
  readonly token: string;
  readonly time: string;
}
export const PER_POD: readonly PerPod[] = [
  { token: '7xk2p', time: '2026-12-06T08:28:13Z' },
  { token: 'bcdfg', time: '2026-12-06T08:28:14Z' },
  { token: 'zz9qa', time: '2031-01-01T00:00:00Z' },
  { token: '00000', time: '1999-12-31T23:59:59Z' },
];

/**
 * `pod` as the API server hands it to the webhooks after the ServiceAccount plugin: the projected token
 * volume `kube-api-access-<token>` in spec.volumes and mounted in every container, and the create's
 * managedFields entry. Pods too malformed to take them are returned as they are.
 */
export function withPerPod(pod: unknown, perPod: PerPod | undefined): unknown {
  if (perPod === undefined || pod === null || typeof pod !== 'object') return pod;
  const name = `kube-api-access-${perPod.token}`;
  // A pod that has its token volume already (the case was recorded from a cluster) gets this pod's name for it.
  const text = JSON.stringify(pod);
  const hadToken = /kube-api-access-[a-z0-9]{5}/.test(text);
  const copy = JSON.parse(text.replace(/kube-api-access-[a-z0-9]{5}/g, name)) as Record<string, unknown>;
  const metadata = copy['metadata'];
  if (metadata !== null && typeof metadata === 'object' && !Array.isArray(metadata))
    (metadata as Record<string, unknown>)['managedFields'] = [
      {
        manager: 'kube-controller-manager',
        operation: 'Update',
        apiVersion: 'v1',
        time: perPod.time,
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:metadata': { 'f:generateName': {} }, 'f:spec': { 'f:containers': {} } },
      },
    ];
  const spec = copy['spec'] as Record<string, unknown> | null | undefined;
  if (hadToken || spec === null || typeof spec !== 'object' || Array.isArray(spec)) return copy;
  if (spec['volumes'] == null || Array.isArray(spec['volumes']))
    spec['volumes'] = [
      ...((spec['volumes'] as unknown[] | undefined) ?? []),
      {
        name,
        projected: {
          sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } }],
          defaultMode: 420,
        },
      },
    ];
  for (const list of ['initContainers', 'containers']) {
    const containers = spec[list];
    if (!Array.isArray(containers)) continue;
    for (const c of containers) {
      if (c === null || typeof c !== 'object') continue;
      const mounts = (c as Record<string, unknown>)['volumeMounts'];
      if (mounts != null && !Array.isArray(mounts)) continue;
      (c as Record<string, unknown>)['volumeMounts'] = [
        ...((mounts as unknown[] | undefined) ?? []),
        { name, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true },
      ];
    }
  }
  return copy;
}
