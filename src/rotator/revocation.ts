import type { Config } from '../config/schema.js';
import type { ConfigMapApi } from '../kube/types.js';
import type { Log } from '../observability/logger.js';
import type { CertificateAuthority } from '../pki/ca.js';
import { createCrlPublisher, crlValiditySeconds } from './crl-publisher.js';
import type { Leadership } from './leader.js';
import { createLoop, type Loop } from './loop.js';
import { createRevocationSource, type RevocationSource } from './revocation-source.js';
import type { RevocationHooks } from './sync-pod.js';
import type { Timers } from './time.js';

/** How often the leader reads the revocation record (one get by name) and checks its CRLs. */
export const REVOCATION_POLL_MS = 2_000;

/** The rotator's part of revocation, wired: the hooks pod syncs use, the loop, and figures for metrics. */
export interface RotatorRevocation {
  readonly hooks: Omit<RevocationHooks, 'reissued'>;
  /** Reads the record and publishes the CRLs every REVOCATION_POLL_MS (started once the watches listed). */
  readonly loop: Loop;
  /** One pass of the loop: read the record, then sign and publish what changed. */
  pass(): Promise<void>;
  /** Live entries of the record as the leader last read it (0 on a follower). */
  revoked(): number;
  /** Seconds since the oldest thisUpdate of the published ca.crl (0 while none, or on a follower). */
  crlAgeSeconds(): number;
  /** The record as the leader read it: pod entries for the signer, and adding the serials it knows. */
  readonly source: Pick<RevocationSource, 'pods' | 'findPod' | 'read' | 'find' | 'add'>;
}

/**
 * Revocation in the rotator (docs/revocation.md): the leader follows the record (`revocation-source.ts`),
 * has the pods it names reissued at once (`recordChanged`), and signs and publishes one CRL per issuing CA
 * (`crl-publisher.ts`), which every managed Secret then carries as ca.crl (`crlChanged`).
 */
export function createRotatorRevocation(deps: {
  readonly config: Pick<Config, 'installNamespace' | 'leafLifetime' | 'backdate'>;
  readonly configMaps: ConfigMapApi;
  readonly leadership: Pick<Leadership, 'isLeader' | 'validUntil'>;
  readonly clock: () => number;
  readonly timers: Timers;
  readonly log: Log;
  /** The CAs that sign a CRL (`CaMaterial.crlSigners`); undefined while none is loaded. */
  readonly signers: () => readonly CertificateAuthority[] | undefined;
  /** The record changed; `pods` (`ns/name`) hold revoked certificates. */
  readonly recordChanged: (pods: readonly string[]) => void;
  /** A new ca.crl was published. */
  readonly crlChanged: () => void;
  /** The record was read anew (its pod entries may have changed). */
  readonly podsChanged?: () => void;
}): RotatorRevocation {
  const source = createRevocationSource({
    namespace: deps.config.installNamespace,
    configMaps: deps.configMaps,
    leadership: deps.leadership,
    clock: deps.clock,
    log: deps.log,
    changed: (entries) => {
      deps.recordChanged(entries.flatMap((e) => (e.pod === null ? [] : [e.pod])));
      deps.podsChanged?.();
    },
  });
  const publisher = createCrlPublisher({
    config: deps.config,
    configMaps: deps.configMaps,
    leadership: deps.leadership,
    clock: deps.clock,
    log: deps.log,
    signers: deps.signers,
    entries: () => source.entries(),
    changed: () => deps.crlChanged(),
  });
  const pass = async (): Promise<void> => {
    await source.poll();
    await publisher.run();
  };
  const loop = createLoop(deps.timers, REVOCATION_POLL_MS, pass);
  return {
    hooks: {
      find: (serial, issuer) => source.find(serial, issuer),
      crl: () => publisher.current(),
      crlValidityMs: crlValiditySeconds(deps.config.leafLifetime) * 1000,
    },
    loop,
    pass,
    source,
    revoked: () => (deps.leadership.isLeader() ? (source.entries()?.length ?? 0) : 0),
    crlAgeSeconds: () => {
      const published = deps.leadership.isLeader() ? publisher.current() : undefined;
      return published === undefined ? 0 : Math.max(0, (deps.clock() - published.summary.thisUpdate) / 1000);
    },
  };
}
