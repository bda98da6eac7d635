/** A leading controller (real pki) with the Pod Certificates signer assembled over in-memory APIs. */
import type { PodObject, ServedCertificateApis } from '../../../src/kube/types.js';
import type { EvictionOutcome } from '../../../src/kube/eviction.js';
import { createRevocationSource } from '../../../src/rotator/revocation-source.js';
import { assembleSigner, type SignerPart } from '../../../src/rotator/signer/assemble.js';
import {
  FakeClusterTrustBundles,
  FakeConfigMaps,
  FakePodCertificateRequests,
} from '../../fakes/certificates.js';
import { makeHarness } from '../harness.js';

export const SERVED_1_37: ServedCertificateApis = {
  podCertificateRequests: 'v1',
  clusterTrustBundles: 'v1',
  serverVersion: 'v1.37.2',
};

/** A leading controller with the signer assembled over fakes; pods live in `pods` (what a GET answers). */
export function signerWorld(
  options: { flags?: Record<string, string>; leader?: boolean; served?: ServedCertificateApis } = {},
) {
  const h = makeHarness({ flags: options.flags ?? {}, leader: options.leader ?? true });
  const requests = new FakePodCertificateRequests();
  const bundles = new FakeClusterTrustBundles();
  const configMaps = new FakeConfigMaps();
  const pods = new Map<string, PodObject>();
  const gets: string[] = [];
  const namespaceLabels = new Map<string, Record<string, string>>([
    ['shop', { 'mtls-injection': 'enabled' }],
    ['plain', {}],
    ['off', { 'mtls-injection': 'disabled' }],
  ]);
  const state: {
    synced: boolean;
    writeWindowMs: number;
    crl: string | undefined;
    /** What the next evictions answer (then 'evicted'). */
    evictions: EvictionOutcome[];
  } = {
    synced: true,
    writeWindowMs: Number.POSITIVE_INFINITY,
    crl: undefined,
    evictions: [],
  };
  const evicted: string[] = [];
  // The revocation record as the leader follows it: the real source over the ConfigMap fake.
  const revocations = createRevocationSource({
    namespace: 'mtls-injector',
    configMaps,
    leadership: { isLeader: () => true, validUntil: () => h.clock.read() + 60_000 },
    clock: h.clock.read,
    log: h.log,
    changed: () => part.revocationsChanged(),
  });
  const part: SignerPart = assembleSigner({
    config: h.config,
    deps: {
      served: options.served ?? SERVED_1_37,
      requests,
      watch: undefined,
      clusterTrustBundles: bundles,
      configMaps,
      getPod: (ns, name) => {
        gets.push(`${ns}/${name}`);
        return Promise.resolve(pods.get(`${ns}/${name}`));
      },
      listPods: (ns) =>
        Promise.resolve([...pods.values()].filter((p) => ns === undefined || p.metadata.namespace === ns)),
      evictPod: (ns, name, uid) => {
        const outcome = state.evictions.shift() ?? 'evicted';
        evicted.push(`${ns}/${name} ${uid} ${outcome}`);
        if (outcome === 'evicted') pods.delete(`${ns}/${name}`);
        return Promise.resolve(outcome);
      },
    },
    controller: h.controller,
    certs: h.certs,
    clock: h.clock.read,
    random: () => 0.5,
    identity: 'rotator-a',
    log: h.log,
    excludedNamespaces: ['kube-system', 'kube-node-lease', 'mtls-injector'],
    namespaces: {
      get: (name) => namespaceLabels.get(name),
      all: () => [...namespaceLabels].map(([name, labels]) => ({ name, labels })),
    },
    namespacesSynced: () => state.synced,
    ca: () => h.ca,
    writeWindowMs: () => state.writeWindowMs,
    crl: () => state.crl,
    revocations,
    events: h.events,
  });
  // The store plays the watch: every write reaches the signer like a watch event would.
  requests.store.watchers.push({
    upsert: (r) => part.upsertRequest(r),
    remove: (r) => part.removeRequest(r),
  });
  const addPod = (pod: PodObject, inCache = true) => {
    pods.set(`${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`, pod);
    if (inCache) part.upsertPod(pod);
    return pod;
  };
  return {
    ...h,
    /** Reads the revocation record as the leader's loop would, then runs the controller until idle. */
    settle: async () => {
      await revocations.poll();
      await h.settle();
    },
    requests,
    bundles,
    configMaps,
    pods,
    gets,
    namespaceLabels,
    state,
    part,
    addPod,
    revocations,
    evicted,
  };
}
