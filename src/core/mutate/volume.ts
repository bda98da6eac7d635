import type { TrustBundleSource } from '../delivery.js';
import { CA_FILE, CERT_FILE, CRL_FILE, KEY_FILE, VOLUME_NAME } from '../names.js';
import type { SignedKeyType } from '../pod-certificate.js';
import type { JsonObject, RawVolume } from '../pod.js';

/** Which volume carries a pod's files: its Secret, or a podCertificate projection (docs/pod-certificates.md). */
export type VolumePlan =
  | { readonly kind: 'secret'; readonly secretName: string }
  | {
      readonly kind: 'podCertificate';
      readonly signerName: string;
      readonly keyType: SignedKeyType;
      readonly maxExpirationSeconds: number;
      readonly trustBundle: TrustBundleSource;
      /** The per-namespace ConfigMap the rotator keeps, whose `ca.crl` key is projected as ca.crl. */
      readonly crlConfigMap: string;
    };

/** File mode: group-readable when the pod sets fsGroup, else readable by any user in the pod (C22). */
const MODE_WITH_FS_GROUP = 0o440;
const MODE_WITHOUT_FS_GROUP = 0o444;

/**
 * The `mtls-certs` volume for a plan. A podCertificate volume is projected: the kubelet writes the key it made
 * to tls.key (PKCS#8) and the issued chain to tls.crt, ca.crt comes from the signer's ClusterTrustBundle (or
 * the per-namespace ConfigMap the rotator keeps), and ca.crl from that per-namespace ConfigMap, optional: until
 * the rotator has published a CRL there the pod has no ca.crl (as a Secret before its first CRL), and the
 * kubelet adds it on a later sync. So apps read the same files as with a Secret.
 */
export function certificateVolume(plan: VolumePlan, fsGroup: boolean): RawVolume {
  const defaultMode = fsGroup ? MODE_WITH_FS_GROUP : MODE_WITHOUT_FS_GROUP;
  if (plan.kind === 'secret') {
    return {
      name: VOLUME_NAME,
      secret: { secretName: plan.secretName, optional: false, defaultMode },
    };
  }
  const trust: JsonObject =
    plan.trustBundle.kind === 'clusterTrustBundle'
      ? { clusterTrustBundle: { signerName: plan.trustBundle.signerName, labelSelector: {}, path: CA_FILE } }
      : { configMap: { name: plan.trustBundle.name, items: [{ key: CA_FILE, path: CA_FILE }] } };
  return {
    name: VOLUME_NAME,
    projected: {
      defaultMode,
      sources: [
        {
          podCertificate: {
            signerName: plan.signerName,
            keyType: plan.keyType,
            maxExpirationSeconds: plan.maxExpirationSeconds,
            keyPath: KEY_FILE,
            certificateChainPath: CERT_FILE,
          },
        },
        trust,
        {
          configMap: {
            name: plan.crlConfigMap,
            optional: true,
            items: [{ key: CRL_FILE, path: CRL_FILE }],
          },
        },
      ],
    },
  };
}

/** The signer a projected volume's podCertificate sources name, when they all name the same one. */
export function projectedSigner(volume: RawVolume): string | undefined {
  const sources = (volume.projected as { sources?: unknown } | null | undefined)?.sources;
  if (!Array.isArray(sources)) return undefined;
  const signers = new Set<unknown>();
  for (const source of sources as unknown[]) {
    const pc = (source as { podCertificate?: { signerName?: unknown } } | null)?.podCertificate;
    if (pc != null) signers.add(pc.signerName);
  }
  const [only] = signers;
  return signers.size === 1 && typeof only === 'string' ? only : undefined;
}

/**
 * Whether an existing `mtls-certs` volume is the one a plan manages (so it may be brought to the wanted state):
 * the pod's own Secret volume, a projection naming our signer, or one our status annotation claims.
 */
export function isOurVolume(volume: RawVolume, plan: VolumePlan, claimedByStatus: boolean): boolean {
  if (claimedByStatus) return volume.secret != null || volume.projected != null;
  if (plan.kind === 'secret') return volume.secret?.['secretName'] === plan.secretName;
  return projectedSigner(volume) === plan.signerName;
}
