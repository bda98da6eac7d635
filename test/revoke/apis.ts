/** What the revoke tests share: a CA issued a month before NOW and the in-memory APIs `revoke` reads and writes. */
import { generateRootCa } from '../../src/pki/ca.js';
import { FakeConfigMapApi } from '../fakes/configmaps.js';
import { FakeSecretApi } from '../fakes/kube.js';
import { FakeWorkloadApi } from '../fakes/workloads.js';

/** The tests' clock. */
export const NOW = new Date('2026-12-01T12:00:00Z');

/** A fresh root CA (valid from 30 days before NOW) and empty Secret, workload and ConfigMap fakes. */
export function revokeApis() {
  const ca = generateRootCa({
    keyAlgorithm: 'ecdsa-p256',
    trustDomain: 'cluster.local',
    lifetimeSeconds: 365 * 86_400,
    now: new Date(NOW.getTime() - 30 * 86_400_000),
  });
  const secrets = new FakeSecretApi();
  const inspect = new FakeWorkloadApi();
  inspect.secretSource = () => secrets.objects.values();
  const configMaps = new FakeConfigMapApi();
  return { ca, secrets, inspect, configMaps };
}
