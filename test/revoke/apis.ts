/** What the revoke tests share: a CA issued a month before NOW and the in-memory APIs `revoke` reads and writes. */
import { generateRootCa } from '../../src/pki/ca.js';
import type { RevokeOptions } from '../../src/revoke/run.js';
import type { RevokeTarget } from '../../src/revoke/targets.js';
import { FakeConfigMapApi } from '../fakes/configmaps.js';
import { FakeSecretApi } from '../fakes/kube.js';
import { FakeWorkloadApi } from '../fakes/workloads.js';

/** The install namespace the revoke tests use. */
export const INSTALL = 'mtls-injector';

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

/** `revoke`'s options for `target` as the tests run it (a real run, not forced), with `extra` on top. */
export function revokeOptions(target: RevokeTarget, extra: Partial<RevokeOptions> = {}): RevokeOptions {
  return {
    target,
    reason: 'keyCompromise',
    installNamespace: INSTALL,
    trustDomain: 'cluster.local',
    leafLifetimeSeconds: 24 * 3600,
    dryRun: false,
    force: false,
    signerName: 'mtls-injector.io/spiffe',
    maxExpirationSeconds: 24 * 3600,
    ...extra,
  };
}
