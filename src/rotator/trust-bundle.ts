import type { Config } from '../config/schema.js';
import { apiStatus, type ConfigMapApi } from '../kube/types.js';
import type { CaMaterial } from '../model/ca-secret.js';
import {
  buildTrustBundleConfigMap,
  readTrustBundleConfigMap,
  sameTrustBundle,
  type TrustBundle,
} from '../model/trust-bundle.js';
import type { Log } from '../observability/logger.js';
import type { Leadership } from './leader.js';
import { WRITE_TIMEOUT_MS } from './secret-writer.js';

/** The CA state the publisher is told after each read of the CA Secret. */
export interface CaState {
  /** The CA in use (undefined when none could be loaded). */
  readonly material: CaMaterial | undefined;
  /** The CA Secret is lost: what to do. */
  readonly lost: string | undefined;
  /** The CA Secret cannot be used: why. */
  readonly problem: string | undefined;
}

/**
 * Publishes the public half of the CA Secret to the trust-bundle ConfigMap (`ca.trustBundleConfigMap` in the
 * install namespace): ca.crt (every root to trust), issuer.crt (the issuing CA and chain) and the CA's state
 * (lost, or not usable) as annotations, so `check` and anyone who must trust the workloads read it without
 * access to the CA key. Only the leader writes, within its leadership; a write happens only when something
 * changed. Without a loaded CA the certificates already published are kept and only the state changes.
 */
export function createTrustBundlePublisher(deps: {
  readonly config: Pick<Config, 'installNamespace' | 'ca'>;
  readonly configMaps: ConfigMapApi;
  readonly leadership: Pick<Leadership, 'isLeader' | 'validUntil'>;
  readonly clock: () => number;
  readonly log: Log;
}): (state: CaState) => Promise<void> {
  const ns = deps.config.installNamespace;
  const name = deps.config.ca.trustBundleConfigMap;
  return async (state) => {
    if (!deps.leadership.isLeader()) return;
    if (state.material === undefined && state.lost === undefined && state.problem === undefined) return;
    try {
      const existing = await deps.configMaps.get(ns, name);
      const before = existing === undefined ? undefined : readTrustBundleConfigMap(existing);
      const bundle: TrustBundle = {
        bundlePem: state.material?.bundlePem ?? before?.bundlePem ?? '',
        issuerPem:
          state.material === undefined
            ? (before?.issuerPem ?? '')
            : state.material.active.certPem + state.material.active.chainPem,
        lost: state.lost,
        problem: state.lost === undefined ? state.problem : undefined,
      };
      const desired = buildTrustBundleConfigMap(ns, name, bundle, existing?.metadata.resourceVersion);
      if (existing !== undefined && sameTrustBundle(existing, desired)) return;
      const timeoutMs = Math.min(WRITE_TIMEOUT_MS, deps.leadership.validUntil() - deps.clock());
      if (timeoutMs <= 0) return;
      if (existing === undefined) await deps.configMaps.create(desired, { timeoutMs });
      else await deps.configMaps.replace(desired, { timeoutMs });
      deps.log.info(
        {
          configMap: `${ns}/${name}`,
          lost: bundle.lost !== undefined,
          problem: bundle.problem !== undefined,
        },
        'trust bundle published',
      );
    } catch (err) {
      // Retried on the next CA read (every 10 s); a conflict means another write landed first.
      if (apiStatus(err) !== 409)
        deps.log.warn(
          { configMap: `${ns}/${name}`, error: String(err) },
          'could not publish the trust bundle',
        );
    }
  };
}
