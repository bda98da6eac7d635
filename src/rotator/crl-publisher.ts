import type { Config } from '../config/schema.js';
import { CRL_CONFIGMAP, CRL_FILE } from '../core/names.js';
import { apiStatus, type ConfigMapApi, type ConfigMapObject } from '../kube/types.js';
import { entriesForIssuer, type RevocationEntry } from '../model/revocations.js';
import type { Log } from '../observability/logger.js';
import type { CertificateAuthority } from '../pki/ca.js';
import { buildCrl } from '../pki/crl.js';
import { type CrlInfo, crlSignedBy, parseCrls } from '../pki/crl-reader.js';
import { toPem } from '../pki/pem.js';
import { type CrlSummary, summarizeCrls } from './crl-content.js';
import type { Leadership } from './leader.js';
import { WRITE_TIMEOUT_MS } from './secret-writer.js';

/** The `ca.crl` the leader published: what every managed Secret is to carry. */
export interface PublishedCrl {
  readonly pem: string;
  readonly summary: CrlSummary;
}

/** Signs and publishes the CRLs; see createCrlPublisher. */
export interface CrlPublisher {
  /** Signs what changed and writes the CRL ConfigMap (leader only); cheap when nothing changed. */
  run(): Promise<void>;
  /** The CRLs published last; undefined until the leader has read or written them. */
  current(): PublishedCrl | undefined;
  /** thisUpdate to nextUpdate of every CRL signed, ms. */
  readonly validityMs: number;
}

/** The shortest CRL window, whatever the leaf lifetime. */
const MIN_VALIDITY_SECONDS = 600;

/** thisUpdate to nextUpdate: twice the leaf lifetime (at least 10 minutes). */
export function crlValiditySeconds(leafLifetimeSeconds: number): number {
  return Math.max(2 * leafLifetimeSeconds, MIN_VALIDITY_SECONDS);
}

/**
 * The leader's CRLs: one per CA whose leaves peers may meet (`CaMaterial.crlSigners`: the active CA, the
 * prepared and the previous one during a rotation), each listing that CA's live revocations from the record,
 * published as `ca.crl` (PEM, one block per CA) in the ConfigMap `mtls-injector-crl` of the install
 * namespace, for clients outside the product and as the state the next leader starts from (no local state).
 *
 * A CA's CRL is signed again when the serials it must list change (a revocation, an entry expiring, a CA
 * added) and once half its window has passed, so it is refreshed well before nextUpdate; otherwise the one
 * published is kept. The window is twice the leaf lifetime, so a Secret's ca.crl copied at any renewal is
 * still current at the next. CRL numbers grow across leaders and a lost ConfigMap: each new one is above the
 * published one and at least the signing time in ms. thisUpdate is back-dated by `backdate` (peers' clocks).
 */
export function createCrlPublisher(deps: {
  readonly config: Pick<Config, 'installNamespace' | 'leafLifetime' | 'backdate'>;
  readonly configMaps: ConfigMapApi;
  readonly leadership: Pick<Leadership, 'isLeader' | 'validUntil'>;
  readonly clock: () => number;
  readonly log: Log;
  /** The CAs that sign a CRL; undefined while no CA is loaded. */
  readonly signers: () => readonly CertificateAuthority[] | undefined;
  /** The record's live entries; undefined until read. */
  readonly entries: () => readonly RevocationEntry[] | undefined;
  /** A new ca.crl was published (or, on gaining leadership, found). */
  readonly changed: (crl: PublishedCrl) => void;
}): CrlPublisher {
  const ns = deps.config.installNamespace;
  const where = `${ns}/${CRL_CONFIGMAP}`;
  const validityMs = crlValiditySeconds(deps.config.leafLifetime) * 1000;
  let seeded = false;
  let published: { pem: string; crls: CrlInfo[]; resourceVersion: string | undefined } | undefined;
  let current: PublishedCrl | undefined;
  const refused = new Set<string>();

  const seed = async (): Promise<void> => {
    const cm = await deps.configMaps.get(ns, CRL_CONFIGMAP);
    const pem = cm?.data?.[CRL_FILE] ?? '';
    let crls: CrlInfo[] = [];
    try {
      crls = parseCrls(pem, `${where} ${CRL_FILE}`);
    } catch (err) {
      deps.log.warn(
        { configMap: where, error: String(err) },
        'the published CRL does not parse; signing anew',
      );
    }
    published = cm === undefined ? undefined : { pem, crls, resourceVersion: cm.metadata.resourceVersion };
    seeded = true;
  };

  /** The CRL of `ca` to publish now: the published one when still right, else a new one. */
  const crlOf = (
    ca: CertificateAuthority,
    entries: readonly RevocationEntry[],
    now: number,
  ): string | undefined => {
    const wanted = entriesForIssuer(entries, ca.subjectKeyIdHex, new Date(now));
    const serials = [...new Set(wanted.map((e) => e.serial))].sort();
    const mine = (published?.crls ?? []).filter(
      (c) => c.authorityKeyId?.toString('hex') === ca.subjectKeyIdHex && crlSignedBy(c, ca.certificate),
    );
    const prev = mine[0];
    if (
      prev !== undefined &&
      [...prev.revoked.keys()].sort().join(',') === serials.join(',') &&
      prev.nextUpdate !== undefined &&
      now < prev.nextUpdate.getTime() - validityMs / 2
    )
      return toPem('X509 CRL', prev.der);
    const before = mine.reduce(
      (max, c) => (c.crlNumber !== undefined && c.crlNumber > max ? c.crlNumber : max),
      0n,
    );
    const crlNumber = before + 1n > BigInt(now) ? before + 1n : BigInt(now);
    try {
      return buildCrl(ca, {
        crlNumber,
        thisUpdate: new Date(now - deps.config.backdate * 1000),
        nextUpdate: new Date(now + validityMs),
        entries: wanted.map((e) => ({
          serialHex: e.serial,
          revokedAt: new Date(e.revokedAt),
          reason: e.reason,
          notAfter: new Date(e.notAfter),
        })),
      }).pem;
    } catch (err) {
      // A CA that cannot sign CRLs (a bring-your-own intermediate without cRLSign): said once, then left out.
      if (!refused.has(ca.subjectKeyIdHex))
        deps.log.error(
          { ca: ca.subjectKeyIdHex, error: err instanceof Error ? err.message : String(err) },
          'cannot sign a CRL for this CA; its certificates are not on ca.crl',
        );
      refused.add(ca.subjectKeyIdHex);
      return undefined;
    }
  };

  const write = async (pem: string, timeoutMs: number): Promise<void> => {
    const body: ConfigMapObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: CRL_CONFIGMAP,
        namespace: ns,
        labels: { 'app.kubernetes.io/name': 'mtls-injector', 'app.kubernetes.io/component': 'crl' },
        ...(published?.resourceVersion === undefined ? {} : { resourceVersion: published.resourceVersion }),
      },
      data: { [CRL_FILE]: pem },
    };
    const written =
      published === undefined
        ? await deps.configMaps.create(body, { timeoutMs })
        : await deps.configMaps.replace(body, { timeoutMs });
    published = { pem, crls: parseCrls(pem), resourceVersion: written.metadata.resourceVersion };
  };

  const announce = (pem: string): void => {
    const summary = summarizeCrls(pem);
    if (summary === undefined || current?.pem === pem) return;
    current = { pem, summary };
    deps.changed(current);
  };

  return {
    validityMs,
    current: () => current,
    async run() {
      if (!deps.leadership.isLeader()) {
        seeded = false; // a new leader may write meanwhile: read again when leading
        return;
      }
      const signers = deps.signers();
      const entries = deps.entries();
      if (signers === undefined || entries === undefined) return;
      try {
        if (!seeded) await seed();
        const now = deps.clock();
        const pem = signers
          .map((ca) => crlOf(ca, entries, now))
          .filter((p): p is string => p !== undefined)
          .join('');
        if (pem === '') return;
        if (pem !== published?.pem) {
          const timeoutMs = Math.min(WRITE_TIMEOUT_MS, deps.leadership.validUntil() - now);
          if (timeoutMs <= 0) return;
          await write(pem, timeoutMs);
          deps.log.info(
            { configMap: where, crls: published?.crls.length ?? 0, revoked: entries.length },
            'CRL published',
          );
        }
        announce(pem);
      } catch (err) {
        seeded = false; // a conflict or a failed read: start from what the API holds next time
        if (apiStatus(err) !== 409)
          deps.log.warn({ configMap: where, error: String(err) }, 'could not publish the CRL');
      }
    },
  };
}
