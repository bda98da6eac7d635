import type { Config } from '../config/schema.js';
import { ErrorCode, InjectorError } from '../core/errors.js';
import { canonicalSerial } from '../core/revocation.js';
import { readCertificateInfo } from '../pki/certificate-info.js';
import { issueLeaf } from '../pki/issue.js';
import { issueLeafForKey } from '../pki/issue-for-key.js';
import type { KeyPool } from '../pki/key-pool.js';
import { splitPem } from '../pki/pem.js';
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
      return issueLeaf(ca, {
        spiffeId: request.spiffeId,
        dnsNames: request.dnsNames,
        keyAlgorithm: config.keyAlgorithm,
        lifetimeSeconds: config.leafLifetime,
        backdateSeconds: config.backdate,
        now: new Date(deps.clock()),
        key,
      });
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
