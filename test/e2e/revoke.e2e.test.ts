/**
 * `mtls-injector revoke` against the real API server, with the product running: the record is a real
 * ConfigMap written with resourceVersion, the Event names the user the API server authenticated
 * (SelfSubjectReview), wrong input changes nothing, and once the rotator has reissued, `check` reports a
 * good certificate and a current ca.crl. The rotator's part is measured in revocation-rotator.e2e.test.ts.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import type { CheckReport } from '../../src/check/run.js';
import { readRevocationRecord } from '../../src/model/revocations.js';
import { leafSummary } from '../../src/pki/x509.js';
import { isGone, kubeconfigPath, loadKubeConfig, testNamespaces, waitFor } from './helpers.js';
import { cli, plainPod, productEnv, secretFiles, secretOf } from './product.js';
import { sharesCluster, usesAlone } from './cluster-lock.js';

const kc = loadKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const namespaces = testNamespaces(core);
const productRunning = existsSync(join(kubeconfigPath, '..', 'product.env'));
const RECORD = 'mtls-injector-revocations';

afterAll(async () => {
  await namespaces.deleteAll();
  if (productRunning) {
    await isGone(() =>
      core.deleteNamespacedConfigMap({ namespace: productEnv().installNamespace, name: RECORD }),
    );
  }
});

/** The record as the API server holds it (resourceVersion and entries), or undefined. */
async function record() {
  try {
    const cm = await core.readNamespacedConfigMap({ namespace: productEnv().installNamespace, name: RECORD });
    return {
      resourceVersion: cm.metadata?.resourceVersion,
      entries: readRevocationRecord({ metadata: cm.metadata ?? {}, data: cm.data ?? {} }).entries,
    };
  } catch {
    return undefined;
  }
}

/** The serial of the certificate in the pod's Secret now. */
async function currentSerial(pod: V1Pod): Promise<string> {
  const summary = leafSummary(secretFiles(await secretOf(core, pod)).cert);
  if (summary === undefined) throw new Error('no certificate in the Secret');
  return summary.serialHex;
}

// Both revocation files read and count the one revocation record: one at a time.
usesAlone('revoke.e2e.test.ts', 'revocation record');
sharesCluster('revoke.e2e.test.ts');

describe.skipIf(!productRunning)('revoke on the real API server', () => {
  it('records the pod’s serial with resourceVersion, names the user in an Event, and check reports it', async () => {
    const ns = await namespaces.create('revoke', { 'mtls-injection': 'enabled' });
    const pod = await core.createNamespacedPod({
      namespace: ns,
      body: plainPod('web-', { unschedulable: true }),
    });
    const name = pod.metadata?.name ?? '';
    await secretOf(core, pod);

    const dry = cli(['revoke', '--pod', `${ns}/${name}`, '--dry-run', '-o', 'json']);
    expect(dry.code).toBe(0);
    expect((JSON.parse(dry.stdout) as { revoked: unknown[] }).revoked).toHaveLength(1);
    const before = await record();

    // Leaves live 3 minutes here and are renewed at about half: if a renewal lands between reading the
    // serial and checking, the pod rightly holds a good certificate again; then revoke the new one.
    let checked = false;
    for (let attempt = 0; attempt < 3 && !checked; attempt++) {
      const serial = await currentSerial(pod);
      const revoked = cli(['revoke', '--pod', `${ns}/${name}`, '--reason', 'keyCompromise']);
      expect(revoked.stderr).toBe('');
      expect(revoked.code).toBe(0);
      const after = await record();
      expect(after?.resourceVersion).not.toBe(before?.resourceVersion);
      const entry = after?.entries.find((e) => e.pod === `${ns}/${name}` && e.serial === serial);
      if (entry === undefined) continue; // renewed before revoke read the Secret
      expect(entry).toMatchObject({
        reason: 'keyCompromise',
        identity: `spiffe://cluster.local/ns/${ns}/sa/default`,
        target: `pod ${ns}/${name}`,
      });
      expect(entry.by).not.toContain('(kubeconfig user)'); // the API server answered the SelfSubjectReview

      const events = await waitFor('the CertificateRevoked Event on the pod', async () => {
        const list = await core.listNamespacedEvent({
          namespace: ns,
          fieldSelector: `involvedObject.name=${name}`,
        });
        const found = list.items.filter((e) => e.reason === 'CertificateRevoked');
        return found.length > 0 ? found : undefined;
      });
      expect(
        events.some((e) => e.message?.includes(`${entry.by} revoked certificate serial ${serial}`)),
      ).toBe(true);

      // The rotator reissues at once; then check sees a good certificate, and a ca.crl that lists the old one.
      await waitFor('the reissued certificate', async () => (await currentSerial(pod)) !== serial, {
        timeoutMs: 60_000,
      });
      const report = await waitFor('check: a current CRL in the Secret', () => {
        const parsed = JSON.parse(
          cli(['check', '-n', ns, '--pod', name, '-o', 'json']).stdout,
        ) as CheckReport;
        const crl = parsed.namespace?.pods[0]?.checks.find((c) => c.name === 'crl');
        return Promise.resolve(crl?.reason === 'crl_current' ? parsed : undefined);
      });
      const [only] = report.namespace?.pods ?? [];
      expect(only?.checks.find((c) => c.name === 'certificate-revocation')).toMatchObject({
        ok: true,
        reason: 'not_revoked',
      });
      expect(report.cluster.find((c) => c.name === 'revocations')).toMatchObject({
        ok: true,
        reason: 'revocations_recorded',
      });
      checked = true;
    }
    expect(checked).toBe(true);
  });

  it('refuses an unknown pod, a service account without certificates and a bad or unknown serial, writing nothing', async () => {
    const ns = await namespaces.create('revoke-bad', { 'mtls-injection': 'enabled' });
    const before = await record();
    const cases: [string[], string][] = [
      [['--pod', `${ns}/ghost`], 'MTLS_ERR_REVOKE_TARGET_NOT_FOUND'],
      [['--service-account', `${ns}/nobody`], 'MTLS_ERR_REVOKE_NO_LIVE_CERTIFICATE'],
      [['--serial', 'not-hex'], 'MTLS_ERR_USAGE'],
      [['--serial', '0badc0ffee'], 'MTLS_ERR_REVOKE_UNKNOWN_SERIAL'],
    ];
    for (const [args, code] of cases) {
      const result = cli(['revoke', ...args]);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr).toContain(`[${code}]`);
      expect(result.stderr).toMatch(/nothing was revoked/i);
    }
    expect((await record())?.resourceVersion).toBe(before?.resourceVersion);
  });
});
