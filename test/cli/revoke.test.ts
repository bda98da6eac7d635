import { describe, expect, it } from 'vitest';
import { run } from './run.js';

// The flag rules of `revoke`, checked before any kubeconfig is loaded: every refusal names what was wrong.
// What happens against the API is in test/revoke/run.test.ts (fakes) and the e2e suite (a real cluster).
const NO_CLUSTER = { KUBECONFIG: '/nonexistent/kubeconfig' };

describe('mtls-injector revoke: usage', () => {
  it.each([
    [[], /expected exactly one of --pod NS\/NAME, --service-account NS\/SA or --serial HEX, got none/],
    [['--pod', 'shop/web-0', '--serial', 'ab'], /got --pod and --serial/],
    [['--pod', 'web-0'], /--pod "web-0"; expected NAMESPACE\/NAME, e\.g\. --pod demo\/web-0/],
    [['--service-account', 'a/b/c'], /--service-account "a\/b\/c"; expected NAMESPACE\/NAME/],
    [['--pod', 'shop/web-0', '-n', 'shop'], /-n goes with --serial only/],
    [['--pod', 'shop/web-0', '--force'], /--force goes with --serial only/],
    [
      ['--pod', 'shop/web-0', '--reason', 'cACompromise'],
      /--reason: reason "cACompromise" is not accepted \(a compromised CA is replaced/,
    ],
    [
      ['--pod', 'shop/web-0', '--reason', 'stolen'],
      /expected one of unspecified, keyCompromise, affiliationChanged, superseded, cessationOfOperation, privilegeWithdrawn/,
    ],
  ])('refuses %j', async (args, message) => {
    const result = await run(['revoke', ...args], NO_CLUSTER);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('[MTLS_ERR_USAGE]');
  });

  it('with a well-formed request, goes on to the kubeconfig (and says clearly when there is none)', async () => {
    const result = await run(['revoke', '--pod', 'shop/web-0'], NO_CLUSTER);
    expect(result.stderr).toMatch(/kubeconfig file \/nonexistent\/kubeconfig .* does not exist/);
    expect(result.stderr).toContain('[MTLS_ERR_KUBE_CONFIG_MISSING]');
  });

  it('lists the reasons in --help', async () => {
    const result = await run(['revoke', '--help']);
    expect(result.stdout).toContain('Reasons: unspecified, keyCompromise, affiliationChanged, superseded');
    expect(result.stdout).toContain('--dry-run');
  });
});
