import type { Config } from '../config/schema.js';
import { ErrorCode, InjectorError } from '../core/errors.js';
import { canonicalSerial } from '../core/revocation.js';
import { readCertificateInfo } from '../pki/certificate-info.js';
import { issueLeaf } from '../pki/issue.js';
import { issueLeafForKey } from '../pki/issue-for-key.js';
import type { CertificateAuthority } from '../pki/ca.js';
import type { KeyPool } from '../pki/key-pool.js';
import { splitPem } from '../pki/pem.js';
import { sealKeyOf, sealMatches, sealOf } from '../pki/seal.js';
import { verifyLeaf } from '../pki/verify.js';
import type { CaManager } from './ca-manager.js';
import type { CertificateFacts, CertOps, FileProblem } from './ports.js';

/** CertOps over src/pki and the CA the CaManager holds. Keys come from the pool (warm for RSA). */
export function createPkiCertOps(deps: {
  readonly config: Config;
  readonly caManager: Pick<CaManager, 'current'>;
  readonly keyPool: KeyPool;
  readonly clock: () => number;
}): CertOps {
  const { config } = deps;
  const material = () => {
    const current = deps.caManager.current();
    if (current === undefined)
      throw new InjectorError(
        ErrorCode.PkiCaChainInvalid,
        'no usable CA loaded yet; see the rotator /readyz',
      );
    return current;
  };
  return {
    async issue(request) {
      const ca = material().active;
      const key = await deps.keyPool.take();
      const leaf = issueLeaf(ca, {
        spiffeId: request.spiffeId,
        dnsNames: request.dnsNames,
        keyAlgorithm: config.keyAlgorithm,
        lifetimeSeconds: config.leafLifetime,
        backdateSeconds: config.backdate,
        now: new Date(deps.clock()),
        key,
      });
      return {
        certPem: leaf.certPem,
        keyPem: leaf.keyPem,
        notBefore: leaf.notBefore,
        notAfter: leaf.notAfter,
        capped: leaf.capped,
        seal: sealOf(sealKeyFor(ca), leaf.certPem, leaf.keyPem),
      };
    },
    inspect(certPem): CertificateFacts | FileProblem {
      try {
        const [first] = splitPem(certPem, 'tls.crt').filter((b) => b.label === 'CERTIFICATE');
        if (first === undefined) return { code: 'bad_pem', message: 'tls.crt holds no CERTIFICATE block' };
        const info = readCertificateInfo(first.der, 'tls.crt');
        return {
          serial: canonicalSerial(info.serialHex),
          spiffeId: info.uris.length === 1 ? info.uris[0] : undefined,
          dnsNames: info.dnsNames,
          notBefore: info.notBefore,
          notAfter: info.notAfter,
          issuerKeyId: info.authorityKeyId?.toString('hex') ?? '',
        };
      } catch (err) {
        return { code: 'bad_pem', message: err instanceof Error ? err.message : String(err) };
      }
    },
    check(files) {
      if (files.sealed !== undefined && soundBySeal(material(), files, files.sealed)) return [];
      return verifyLeaf({
        certChainPem: files.certPem,
        keyPem: files.keyPem,
        trustBundlePem: files.bundlePem,
        now: files.now,
        expectedSpiffeId: files.expectedSpiffeId,
        requireSpiffeId: files.requireSpiffeId,
      }).problems;
    },
    trustBundle: () => material().bundlePem,
    activeIssuerKeyId: () => material().active.subjectKeyIdHex,
    activeValidity: () => {
      const { notBefore, notAfter } = material().active;
      return { notBefore, notAfter };
    },
    signForKey(request) {
      const ca = material().active;
      const leaf = issueLeafForKey(ca, request);
      return { certPem: leaf.certPem, serialHex: leaf.serialHex, issuerKeyId: ca.subjectKeyIdHex };
    },
  };
}

/**
 * Whether a sealed pair needs no further check (src/pki/seal.ts): its seal verifies under the active CA, which
 * is a self-signed root of `bundlePem`, and the leaf and the CA are both valid at `now`. The CA signed the
 * leaf for the key beside it and the rotator wrote both as they are, so the signature, the key match and the
 * SVID's shape hold by construction; what time can change (validity) is checked here. Anything else (no seal,
 * another CA, an intermediate CA, another bundle) gets the full verifyLeaf.
 */
function soundBySeal(
  material: { readonly active: CertificateAuthority; readonly bundlePem: string },
  files: {
    readonly certPem: string;
    readonly keyPem: string;
    readonly bundlePem: string;
    readonly now: Date;
  },
  sealed: { readonly seal: string; readonly notBefore: Date; readonly notAfter: Date },
): boolean {
  const { active } = material;
  const now = files.now.getTime();
  if (now < sealed.notBefore.getTime() || now > sealed.notAfter.getTime()) return false;
  if (now < active.notBefore.getTime() || now > active.notAfter.getTime()) return false;
  if (!rootOfBundle(active, files.bundlePem)) return false;
  return sealMatches(sealKeyFor(active), sealed.seal, files.certPem, files.keyPem);
}

/** Seal keys by CA, derived once and dropped with the CA object (no copy of any key outlives its CA). */
const sealKeys = new WeakMap<CertificateAuthority, Buffer>();

function sealKeyFor(ca: CertificateAuthority): Buffer {
  let key = sealKeys.get(ca);
  if (key === undefined) {
    key = sealKeyOf(ca.keyPem);
    sealKeys.set(ca, key);
  }
  return key;
}

/** Whether `ca` is self-signed and one of the certificates of `bundlePem` (remembered per CA and bundle). */
const rootsChecked = new WeakMap<CertificateAuthority, { bundlePem: string; root: boolean }>();

function rootOfBundle(ca: CertificateAuthority, bundlePem: string): boolean {
  const known = rootsChecked.get(ca);
  if (known?.bundlePem === bundlePem) return known.root;
  let root = false;
  if (ca.selfSigned) {
    try {
      root = splitPem(bundlePem, 'trust bundle (ca.crt)').some(
        (b) => b.label === 'CERTIFICATE' && b.der.equals(ca.certificate.raw),
      );
    } catch {
      root = false;
    }
  }
  rootsChecked.set(ca, { bundlePem, root });
  return root;
}
