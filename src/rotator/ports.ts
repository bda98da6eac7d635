import type { SubjectPublicKey } from '../pki/csr.js';
import type { VerifyProblemCode } from '../pki/verify.js';

/**
 * What the rotator needs from the PKI, as an interface so the controller can be driven by the real pki
 * module in tests without a cluster. `src/rotator/pki-adapter.ts` implements it with src/pki.
 */
export interface IssuedIdentity {
  /** Leaf followed by the issuing chain (not the root). */
  readonly certPem: string;
  /** PKCS#8 PEM. */
  readonly keyPem: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** True when notAfter was cut to the CA's notAfter (faults E3). */
  readonly capped: boolean;
  /** The seal of certPem and keyPem under the issuing CA (src/pki/seal.ts), for the Secret's annotation. */
  readonly seal?: string | undefined;
}

/** What a certificate in a Secret says, read once per watch event (not on every tick). */
export interface CertificateFacts {
  /** The certificate's serial, canonical hex (what the revocation record and CRLs name). */
  readonly serial: string;
  readonly spiffeId: string | undefined;
  readonly dnsNames: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SHA-256 fingerprint of the issuing certificate's public key, to notice an activated new CA. */
  readonly issuerKeyId: string;
}

/** A problem found in a Secret's files, as data. */
export interface FileProblem {
  readonly code: VerifyProblemCode | 'missing_file';
  readonly message: string;
}

/** The PKI operations the rotator uses, over the CA the CA manager holds. */
export interface CertOps {
  /** Issues a leaf from the active CA: a workload (spiffeId + DNS SANs) or a server (DNS SANs only). */
  issue(request: {
    readonly spiffeId?: string;
    readonly dnsNames: readonly string[];
  }): Promise<IssuedIdentity>;
  /** Reads the facts of the first certificate in `certPem`, or a problem. */
  inspect(certPem: string): CertificateFacts | FileProblem;
  /** Checks key match, chain to `bundlePem`, validity at `now` and, when given, the exact SPIFFE ID. */
  check(files: {
    readonly certPem: string;
    readonly keyPem: string;
    readonly bundlePem: string;
    readonly expectedSpiffeId?: string;
    /** False for DNS-only serving certificates. */
    readonly requireSpiffeId?: boolean;
    readonly now: Date;
    /**
     * The Secret's seal and the validity its certificate states (read when it arrived). When the seal
     * verifies under the active CA, the active CA is a self-signed root of `bundlePem` and both it and the
     * leaf are valid at `now`, the pair is one the rotator issued and wrote: nothing else is checked.
     */
    readonly sealed?: {
      readonly seal: string;
      readonly notBefore: Date;
      readonly notAfter: Date;
    };
  }): readonly FileProblem[];
  /** The active trust bundle (every root to trust), PEM. */
  trustBundle(): string;
  /** Identifies the active issuing CA, compared with CertificateFacts.issuerKeyId. */
  activeIssuerKeyId(): string;
  /** The active issuing CA's validity (a pod certificate's validity is fitted into it). */
  activeValidity(): { readonly notBefore: Date; readonly notAfter: Date };
  /**
   * Signs a workload leaf for a key someone else holds (a PodCertificateRequest's), with the active CA, valid
   * exactly from notBefore to notAfter (whole seconds inside the CA's validity).
   */
  signForKey(request: {
    readonly spiffeId: string;
    readonly dnsNames: readonly string[];
    readonly publicKey: SubjectPublicKey;
    readonly notBefore: Date;
    readonly notAfter: Date;
  }): { readonly certPem: string; readonly serialHex: string; readonly issuerKeyId: string };
}

/**
 * Work items of another part of the rotator (the Pod Certificates signer and what it publishes): items that
 * start with `prefix` are synced by it, through the controller's queue, workers, retries and leadership gate.
 */
export interface ItemKind {
  readonly prefix: string;
  sync(item: string): Promise<void>;
  /** Every current item of this kind, queued again on gaining leadership and when trust changes. */
  items(): Iterable<string>;
}
