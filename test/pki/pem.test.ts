import { describe, expect, it } from 'vitest';
import { isInjectorError } from '../../src/core/errors.js';
import { pemBlocksOf, splitPem, toPem } from '../../src/pki/pem.js';

function pemError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(isInjectorError(err, 'MTLS_ERR_PKI_BAD_PEM')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected a BAD_PEM error');
}

describe('PEM', () => {
  it('wraps base64 at 64 columns and round-trips', () => {
    const der = Buffer.from(Array.from({ length: 200 }, (_, i) => i));
    const pem = toPem('CERTIFICATE', der);
    const lines = pem.trim().split('\n');
    expect(lines[0]).toBe('-----BEGIN CERTIFICATE-----');
    expect(lines.at(-1)).toBe('-----END CERTIFICATE-----');
    expect(lines.slice(1, -1).every((l) => l.length <= 64)).toBe(true);
    expect(lines[1]).toHaveLength(64);
    expect(splitPem(pem)).toEqual([{ label: 'CERTIFICATE', der }]);
  });

  it('reads several blocks, CRLF line ends and text between blocks', () => {
    const a = toPem('CERTIFICATE', Buffer.from('a'));
    const b = toPem('PRIVATE KEY', Buffer.from('bb'));
    const text = `subject=CN = x\r\n${a.replace(/\n/g, '\r\n')}issuer=...\n${b}trailing`;
    expect(splitPem(text).map((x) => [x.label, x.der.toString()])).toEqual([
      ['CERTIFICATE', 'a'],
      ['PRIVATE KEY', 'bb'],
    ]);
    expect(pemBlocksOf(text, 'PRIVATE KEY', 'key')).toEqual([Buffer.from('bb')]);
    expect(splitPem('')).toEqual([]);
  });

  it('refuses broken PEM, naming the input and block, never echoing it', () => {
    const good = toPem('CERTIFICATE', Buffer.from('secret-bytes'));
    const mismatched = good.replace('END CERTIFICATE', 'END PRIVATE KEY');
    expect(pemError(() => splitPem(mismatched, 'tls.crt'))).toMatch(
      /^tls.crt: block 1 begins as CERTIFICATE but ends as PRIVATE KEY/,
    );
    expect(pemError(() => splitPem(good + '-----BEGIN CERTIFICATE-----\nAAAA\n', 'tls.crt'))).toMatch(
      /block 2 has no matching END/,
    );
    expect(pemError(() => splitPem(good.replace(/^[A-Za-z0-9+/]{4}/m, '!!!!'), 'ca.crt'))).toMatch(
      /block 1 \(CERTIFICATE\) is not valid base64/,
    );
    expect(pemError(() => splitPem('-----BEGIN X-----\n-----END X-----\n'))).toMatch(/not valid base64/);
    expect(pemError(() => pemBlocksOf(good, 'PRIVATE KEY', 'tls.key'))).toMatch(
      /expected at least one PRIVATE KEY block/,
    );
    const message = pemError(() => splitPem(mismatched));
    expect(message).not.toContain(Buffer.from('secret-bytes').toString('base64').slice(0, 8));
  });
});
