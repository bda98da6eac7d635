/**
 * The pod certificates this replica has seen issued, by pod UID: from every Issued PodCertificateRequest of our
 * signer on the request watch (every replica watches, so a follower that takes over knows them too) and from
 * the signer's own signatures. PodCertificateRequests are deleted 15 minutes after creation, so this is the only
 * place a pod's older serials are known: when a pod is revoked, the leader adds them to the revocation record
 * (src/rotator/signer/revoked-pods.ts). What a restart of every replica forgets is said in docs/revocation.md.
 */
import { PCR_ISSUED } from '../../core/pod-certificate.js';
import type { PodCertificateRequestObject } from '../../kube/types.js';
import { leafSummary } from '../../pki/x509.js';

/** One certificate issued for a pod. */
export interface IssuedLeaf {
  readonly serial: string;
  /** SubjectKeyIdentifier (hex) of the issuing CA, when the leaf names it. */
  readonly issuer: string | null;
  readonly notAfter: Date;
  readonly identity: string | null;
  /** `namespace/name` of the pod. */
  readonly pod: string;
}

/** How often expired leaves are swept from the whole index. */
const SWEEP_MS = 10 * 60_000;

/** The index; see the module comment. */
export class IssuedIndex {
  private readonly byUid = new Map<string, IssuedLeaf[]>();
  private sweptAt = 0;

  constructor(private readonly clock: () => number) {}

  /** Remembers a leaf signed for the pod with `uid` (once per serial). */
  record(uid: string, leaf: IssuedLeaf): void {
    const now = this.clock();
    if (now - this.sweptAt > SWEEP_MS) this.sweep(now);
    const leaves = (this.byUid.get(uid) ?? []).filter((l) => l.notAfter.getTime() > now);
    if (!leaves.some((l) => l.serial === leaf.serial)) leaves.push(leaf);
    this.byUid.set(uid, leaves);
  }

  /** Remembers the leaf of an Issued request; requests without one are ignored. */
  recordRequest(pcr: PodCertificateRequestObject): void {
    const issued = (pcr.status?.conditions ?? []).some((c) => c.type === PCR_ISSUED && c.status === 'True');
    const chain = pcr.status?.certificateChain;
    if (!issued || chain === undefined || chain === '') return;
    const leaf = leafSummary(chain);
    if (leaf === undefined) return;
    this.record(pcr.spec.podUID, {
      serial: leaf.serialHex,
      issuer: leaf.issuerKeyIdHex ?? null,
      notAfter: leaf.notAfter,
      identity: leaf.spiffeId ?? null,
      pod: `${pcr.metadata.namespace ?? ''}/${pcr.spec.podName}`,
    });
  }

  /** The leaves of the pod with `uid` still valid at now. */
  forPod(uid: string): readonly IssuedLeaf[] {
    const now = this.clock();
    return (this.byUid.get(uid) ?? []).filter((l) => l.notAfter.getTime() > now);
  }

  /** How many pods have a leaf here (for tests and metrics). */
  get size(): number {
    return this.byUid.size;
  }

  private sweep(now: number): void {
    this.sweptAt = now;
    for (const [uid, leaves] of this.byUid) {
      const live = leaves.filter((l) => l.notAfter.getTime() > now);
      if (live.length === 0) this.byUid.delete(uid);
      else this.byUid.set(uid, live);
    }
  }
}
