/**
 * Stable error codes. A code is part of the public contract: tools and alerts match on it, so codes are only
 * ever added, never renamed.
 */
export const ErrorCode = {
  ConfigInvalid: 'MTLS_ERR_CONFIG_INVALID',
  InvalidName: 'MTLS_ERR_IDENTITY_INVALID_NAME',
  PkiCaExpired: 'MTLS_ERR_PKI_CA_EXPIRED',
  PkiCaNotYetValid: 'MTLS_ERR_PKI_CA_NOT_YET_VALID',
  PkiCaKeyMismatch: 'MTLS_ERR_PKI_CA_KEY_MISMATCH',
  PkiCaNotCa: 'MTLS_ERR_PKI_CA_NOT_CA',
  PkiCaNoKeyCertSign: 'MTLS_ERR_PKI_CA_NO_KEY_CERT_SIGN',
  PkiCaChainInvalid: 'MTLS_ERR_PKI_CA_CHAIN_INVALID',
  PkiBadPem: 'MTLS_ERR_PKI_BAD_PEM',
  PkiUnsupportedKey: 'MTLS_ERR_PKI_UNSUPPORTED_KEY',
  PkiVerifyFailed: 'MTLS_ERR_PKI_VERIFY_FAILED',
  PkiEncoding: 'MTLS_ERR_PKI_ENCODING',
  PkiCaNoCrlSign: 'MTLS_ERR_PKI_CA_NO_CRL_SIGN',
  PkiCrlInvalid: 'MTLS_ERR_PKI_CRL_INVALID',
  AdmissionInvalid: 'MTLS_ERR_ADMISSION_INVALID',
  KubeApi: 'MTLS_ERR_KUBE_API',
  KubeConfigMissing: 'MTLS_ERR_KUBE_CONFIG_MISSING',
  KubeConfigInvalid: 'MTLS_ERR_KUBE_CONFIG_INVALID',
  KubeForeignSecret: 'MTLS_ERR_KUBE_FOREIGN_SECRET',
  KubeSecretTooLarge: 'MTLS_ERR_KUBE_SECRET_TOO_LARGE',
  IoFailed: 'MTLS_ERR_IO',
  InitVerifyFailed: 'MTLS_ERR_INIT_VERIFY_FAILED',
  UsageInvalid: 'MTLS_ERR_USAGE',
  RevokeTargetNotFound: 'MTLS_ERR_REVOKE_TARGET_NOT_FOUND',
  RevokeNoLiveCertificate: 'MTLS_ERR_REVOKE_NO_LIVE_CERTIFICATE',
  RevokeUnknownSerial: 'MTLS_ERR_REVOKE_UNKNOWN_SERIAL',
  RevokeRecordInvalid: 'MTLS_ERR_REVOKE_RECORD_INVALID',
  RevokeRecordFull: 'MTLS_ERR_REVOKE_RECORD_FULL',
  InstallAmbiguous: 'MTLS_ERR_INSTALL_AMBIGUOUS',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * The one error type the product throws. `code` is stable; `message` names the object and says
 * "expected X, got Y" and what to do. Messages never carry key material or PEM blocks.
 */
export class InjectorError extends Error {
  override readonly name = 'InjectorError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/** True when `err` is an InjectorError, optionally with the given code. */
export function isInjectorError(err: unknown, code?: ErrorCode): err is InjectorError {
  return err instanceof InjectorError && (code === undefined || err.code === code);
}
