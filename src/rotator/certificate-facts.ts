import { CERT_FILE } from '../core/names.js';
import type { SecretObject } from '../kube/types.js';
import { secretFile } from '../model/secret-data.js';
import type { CertificateFacts, CertOps } from './ports.js';

/**
 * What the certificate in a Secret's tls.crt says (validity, identity, issuer), or undefined when there is
 * none or it does not parse. Read once per resourceVersion; the judging of the Secret reuses it. The issuer
 * key id is the same string for every Secret of one CA, so one instance of it is kept.
 */
export function validityOf(
  secret: SecretObject,
  certs: Pick<CertOps, 'inspect'>,
): CertificateFacts | undefined {
  const certPem = secretFile(secret, CERT_FILE);
  const inspected = certPem === undefined ? undefined : certs.inspect(certPem);
  if (inspected === undefined || !('notAfter' in inspected)) return undefined;
  return { ...inspected, issuerKeyId: internKeyId(inspected.issuerKeyId) };
}

const keyIds = new Map<string, string>();

/** One instance of each issuer key id (there are one or two CAs at a time; a few are kept). */
function internKeyId(id: string): string {
  const kept = keyIds.get(id);
  if (kept !== undefined) return kept;
  if (keyIds.size >= 8) keyIds.delete(keyIds.keys().next().value as string);
  keyIds.set(id, id);
  return id;
}
