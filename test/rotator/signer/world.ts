/** A leading controller (real pki) with the Pod Certificates signer assembled over in-memory APIs. */
import type { PodObject, ServedCertificateApis } from '../../../src/kube/types.js';
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
  const state: { synced: boolean; writeWindowMs: number; crl: string | undefined } = {
    synced: true,
    writeWindowMs: Number.POSITIVE_INFINITY,
    crl: undefined,
  };
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
  return { ...h, requests, bundles, configMaps, pods, gets, namespaceLabels, state, part, addPod };
}
