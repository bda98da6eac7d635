import { execFileSync, spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type V1Pod,
  type V1PodSecurityContext,
  type V1Volume,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stubCsr } from '../rotator/signer/requests.js';
import { DELIVERY_LABEL, images, loadKubeConfig, testNamespaces, waitFor } from './helpers.js';
import { cli, deliveryFacts, kubectl, plainPod, productEnv, productPods, servesChainTo } from './product.js';
import { LOCK_WAIT_MS, sharesCluster, usesAlone } from './cluster-lock.js';
import {
  activateUnderTraffic,
  prepareUnderTraffic,
  retireUnderTraffic,
  type RotationRun,
  verifyTrafficThroughRotation,
} from './rotation-under-traffic.js';
import { startTrafficPair, type TrafficPair } from './traffic-pair.js';

// Pod Certificates on the real node: the kubelet makes each pod's key, files a PodCertificateRequest, and the
// rotator (the signer) answers it; the pod mounts tls.key, tls.crt and ca.crt from a projected volume. On a
// release without the API (K8S_VERSION=v1.34.4) only the last test runs: delivery.mode=auto gives Secrets.
// scripts/e2e/product.sh installs podCertificate.maxExpiration=1h, backdate=270s and refreshAt=0.1, so the
// API server's earliest refresh (notBefore + 10 min) comes about 5.5 min after issue and the kubelet's real
// refresh fits in the suite: a pod started first is checked after the other tests.
const kc = loadKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const apps = kc.makeApiClient(AppsV1Api);
const namespaces = testNamespaces(core);
const install = (): string => productEnv().installNamespace;
afterAll(() => namespaces.deleteAll());

const SIGNER = 'mtls-injector.io/spiffe';
const CTB = 'mtls-injector.io:spiffe:trust-bundle';
const PCR = { group: 'certificates.k8s.io', version: 'v1', plural: 'podcertificaterequests' } as const;

interface Pcr {
  metadata: { name: string; namespace: string; creationTimestamp?: string };
  spec: { podName: string; podUID: string };
  status?: {
    conditions?: { type: string; status: string; reason: string; message: string }[];
    certificateChain?: string;
    notBefore?: string;
    beginRefreshAt?: string;
    notAfter?: string;
  };
}

/** What the rotator published: whether this release serves PodCertificateRequests. */
const facts = deliveryFacts();
const served = facts.podCertificateRequests !== null;

const ready = (p: V1Pod): boolean =>
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/** A pod of the test app (test/e2e/app) running `args` as a non-root user. */
function appPod(
  name: string,
  args: string[],
  extra: {
    serviceAccountName?: string;
    labels?: Record<string, string>;
    restartPolicy?: string;
    securityContext?: V1PodSecurityContext;
  } = {},
): V1Pod {
  return {
    metadata: { name, labels: extra.labels ?? {} },
    spec: {
      restartPolicy: extra.restartPolicy ?? 'Never',
      serviceAccountName: extra.serviceAccountName ?? 'default',
      securityContext: { runAsNonRoot: true, runAsUser: 1000, ...extra.securityContext },
      containers: [{ name: 'app', image: images().app, args }],
    },
  };
}

/**
 * A pod that asks for a pod certificate itself (its own podCertificate projection, opted out of injection):
 * what a pod's author can write, so what the signer must judge on its own.
 */
function ownProjectionPod(name: string, keyType: string, serviceAccountName = 'default'): V1Pod {
  const volume: V1Volume = {
    name: 'own',
    projected: {
      sources: [
        {
          podCertificate: {
            signerName: SIGNER,
            keyType,
            maxExpirationSeconds: 3600,
            credentialBundlePath: 'b.pem',
          },
        },
      ],
    },
  };
  return {
    metadata: { name, annotations: { 'mtls-injector.io/inject': 'false' } },
    spec: {
      serviceAccountName,
      containers: [
        {
          name: 'app',
          image: images().pause,
          volumeMounts: [{ name: 'own', mountPath: '/own', readOnly: true }],
        },
      ],
      volumes: [volume],
    },
  };
}

/** The JSON lines a container logged. */
function logLines(ns: string, pod: string, container = 'app'): Record<string, unknown>[] {
  return kubectl(['-n', ns, 'logs', pod, '-c', container])
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function requestsOf(ns: string, pod?: string): Promise<Pcr[]> {
  const list = (await custom.listNamespacedCustomObject({ ...PCR, namespace: ns })) as { items: Pcr[] };
  return list.items.filter((r) => pod === undefined || r.spec.podName === pod);
}

function conditionOf(pcr: Pcr | undefined) {
  return pcr?.status?.conditions?.find((c) => ['Issued', 'Denied', 'Failed'].includes(c.type));
}

/** Waits until a request of `pod` in `ns` has a terminal condition, and returns the newest such request. */
async function answered(ns: string, pod: string): Promise<Pcr> {
  return waitFor(
    `a PodCertificateRequest of ${ns}/${pod} answered`,
    async () => (await requestsOf(ns, pod)).find((r) => conditionOf(r) !== undefined),
    { timeoutMs: 90_000, intervalMs: 1000 },
  );
}

/** `openssl verify` of a chain against a bundle; answers the leaf's URI SAN and serial as openssl prints them. */
function opensslVerifyChain(chainPem: string, bundlePem: string): { uri: string; serial: string } {
  const dir = mkdtempSync(join(tmpdir(), 'mtls-e2e-pcr-'));
  const blocks = chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
  writeFileSync(join(dir, 'leaf.pem'), blocks[0] ?? '');
  writeFileSync(join(dir, 'ca.pem'), bundlePem);
  const verify = spawnSync('openssl', ['verify', '-CAfile', join(dir, 'ca.pem'), join(dir, 'leaf.pem')], {
    encoding: 'utf8',
  });
  if (verify.status !== 0) throw new Error(`openssl verify failed: ${verify.stdout}${verify.stderr}`);
  const text = execFileSync(
    'openssl',
    ['x509', '-in', join(dir, 'leaf.pem'), '-noout', '-ext', 'subjectAltName', '-serial'],
    {
      encoding: 'utf8',
    },
  );
  return { uri: /URI:(\S+)/.exec(text)?.[1] ?? '', serial: /serial=(\w+)/.exec(text)?.[1] ?? '' };
}

function clusterTrustBundle(): string {
  return kubectl(['get', 'clustertrustbundle', CTB, '-o', 'jsonpath={.spec.trustBundle}']);
}

async function caSecretFile(file: string): Promise<string> {
  const s = await core.readNamespacedSecret({ namespace: install(), name: 'mtls-injector-ca' });
  return Buffer.from(s.data?.[file] ?? '', 'base64').toString('utf8');
}

/**
 * The Secrets, in every namespace, whose data holds the private key of `leafPem`: each value that parses as
 * a private key is compared by its public key with the leaf's.
 */
async function secretsHoldingKeyOf(leafPem: string): Promise<string[]> {
  const want = new X509Certificate(leafPem).publicKey.export({ type: 'spki', format: 'der' });
  const holders: string[] = [];
  for (const secret of (await core.listSecretForAllNamespaces()).items) {
    for (const [field, value] of Object.entries(secret.data ?? {})) {
      let spki: Buffer;
      try {
        spki = createPublicKey(createPrivateKey(Buffer.from(value, 'base64'))).export({
          type: 'spki',
          format: 'der',
        });
      } catch {
        continue; // not a private key
      }
      if (spki.equals(want))
        holders.push(`${secret.metadata?.namespace ?? ''}/${secret.metadata?.name ?? ''}:${field}`);
    }
  }
  return holders;
}

/** Waits for an Event the kubelet recorded on a pod whose message contains `text`. */
async function kubeletEvent(ns: string, pod: string, text: string) {
  return waitFor(
    `a kubelet Event on ${ns}/${pod} saying ${text}`,
    async () =>
      (
        await core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${pod}` })
      ).items.find((e) => e.source?.component === 'kubelet' && (e.message ?? '').includes(text)),
    { timeoutMs: 120_000, intervalMs: 1000 },
  );
}

const certCount = (pem: string): number => (pem.match(/BEGIN CERTIFICATE/g) ?? []).length;

async function waitRunning(ns: string, name: string): Promise<V1Pod> {
  return waitFor(
    `${ns}/${name} Ready`,
    async () => {
      const p = await core.readNamespacedPod({ namespace: ns, name });
      return ready(p) ? p : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 1000 },
  );
}

async function waitSucceeded(ns: string, name: string): Promise<void> {
  await waitFor(
    `${ns}/${name} Succeeded`,
    async () => {
      const p = await core.readNamespacedPod({ namespace: ns, name });
      if (p.status?.phase === 'Failed')
        throw new Error(`${name} failed: ${kubectl(['-n', ns, 'logs', name, '--all-containers'])}`);
      return p.status?.phase === 'Succeeded';
    },
    { timeoutMs: 120_000, intervalMs: 1000 },
  );
}

/** A namespace whose pods get podCertificate volumes, with service accounts. */
async function podCertificateNamespace(prefix: string, accounts: readonly string[]): Promise<string> {
  const ns = await namespaces.create(prefix, {
    'mtls-injection': 'enabled',
    [DELIVERY_LABEL]: 'podCertificate',
  });
  for (const sa of accounts)
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: sa } } });
  return ns;
}

// Shares the cluster with the other files (test/e2e/cluster-lock.ts); its CA rotation takes it alone. That
// rotation is the run's only one on a release with Pod Certificates, under live traffic (scenario 3, which
// live-traffic.e2e.test.ts runs itself only on a release without them). A CA rotation of another file cannot
// retire while this file's pods may hold leaves of the previous CA: it would wait for this mutex, which this
// file holds from start to end.
usesAlone('pod-certificates.e2e.test.ts', 'pod-certificate pods');
const cluster = sharesCluster('pod-certificates.e2e.test.ts');

describe.skipIf(!served)('podCertificate delivery on the real node', () => {
  // The pod whose certificate the kubelet refreshes: started first, checked after the other tests.
  let refreshNs = '';
  beforeAll(async () => {
    refreshNs = await podCertificateNamespace('pc-refresh', ['web']);
    await core.createNamespacedPod({
      namespace: refreshNs,
      body: appPod('renewing', ['whoami', '--watch', '2000'], {
        serviceAccountName: 'web',
        restartPolicy: 'Always',
      }),
    });
  });
  // The live traffic the CA rotation runs under: a server and a client Deployment in a namespace of Secret
  // delivery, calling from here to the end of the file, through both parts of the rotation.
  let pair: TrafficPair | undefined;
  beforeAll(async () => {
    const ns = await namespaces.create('pc-traffic', { 'mtls-injection': 'enabled' });
    pair = await startTrafficPair(core, apps, ns);
  }, 420_000);

  it('publishes what the API server serves, and the signer ClusterTrustBundle holds the trust bundle', async () => {
    expect(facts).toMatchObject({
      podCertificateRequests: 'certificates.k8s.io/v1',
      serverVersion: expect.stringMatching(/^v1\.3[5-9]/) as unknown,
    });
    const bundle = clusterTrustBundle();
    expect(kubectl(['get', 'clustertrustbundle', CTB, '-o', 'jsonpath={.spec.signerName}'])).toBe(SIGNER);
    expect(new X509Certificate(bundle).fingerprint256).toBe(
      new X509Certificate(await caSecretFile('ca.crt')).fingerprint256,
    );
  });

  it('starts a pod with tls.key, tls.crt and ca.crt; its leaf verifies with openssl; no Secret holds its key', async () => {
    const ns = await podCertificateNamespace('pcert', ['web']);
    await core.createNamespacedPod({
      namespace: ns,
      body: appPod('whoami', ['whoami'], {
        serviceAccountName: 'web',
        securityContext: { runAsUser: 1000, fsGroup: 2000 },
      }),
    });
    await waitSucceeded(ns, 'whoami');
    const pod = await core.readNamespacedPod({ namespace: ns, name: 'whoami' });
    const volume = pod.spec?.volumes?.find((v) => v.name === 'mtls-certs');
    expect(volume?.secret).toBeUndefined();
    expect(volume?.projected?.sources?.map((s) => Object.keys(s)[0])).toEqual([
      'podCertificate',
      'clusterTrustBundle',
      'configMap', // ca.crl, optional (docs/revocation.md)
    ]);
    expect(pod.metadata?.annotations?.['mtls-injector.io/secret']).toBeUndefined();

    // The app read the files the kubelet wrote: the key it made matches the leaf the signer issued.
    const [whoami] = logLines(ns, 'whoami').filter((l) => l.event === 'whoami');
    expect(whoami).toMatchObject({
      uid: 1000,
      spiffeId: `spiffe://cluster.local/ns/${ns}/sa/web`,
      keyMatches: true,
    });
    expect(kubectl(['-n', ns, 'logs', 'whoami', '-c', 'mtls-init'])).toContain(
      `identity spiffe://cluster.local/ns/${ns}/sa/web verified`,
    );

    // The request the kubelet filed, as the signer answered it: openssl verifies the leaf against the
    // ClusterTrustBundle the pod mounted as ca.crt, and it is the certificate the app read (same serial).
    const pcr = await answered(ns, 'whoami');
    expect(conditionOf(pcr)).toMatchObject({ type: 'Issued', status: 'True' });
    expect(pcr.spec.podUID).toBe(pod.metadata?.uid);
    const leaf = opensslVerifyChain(pcr.status?.certificateChain ?? '', clusterTrustBundle());
    expect(leaf.uri).toBe(`spiffe://cluster.local/ns/${ns}/sa/web`);
    expect(leaf.serial).toBe(whoami?.serial);

    // No Secret in the namespace holds a key, and no Secret in the cluster holds this leaf's key.
    const secrets = (await core.listNamespacedSecret({ namespace: ns })).items;
    expect(secrets.filter((s) => s.data?.['tls.key'] !== undefined).map((s) => s.metadata?.name)).toEqual([]);
    expect(await secretsHoldingKeyOf(pcr.status?.certificateChain ?? '')).toEqual([]);

    // The pod's Events: the signer's, on the pod.
    const events = (
      await core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=whoami' })
    ).items;
    expect(events.map((e) => e.reason)).toContain('PodCertificateIssued');
  });

  it('completes mTLS with a pod in secret mode in another namespace, both ways (one trust bundle)', async () => {
    const pcNs = await podCertificateNamespace('pc-mesh', ['server', 'client']);
    const secretNs = await namespaces.create('secret-mesh', {
      'mtls-injection': 'enabled',
      [DELIVERY_LABEL]: 'secret',
    });
    for (const sa of ['server', 'client'])
      await core.createNamespacedServiceAccount({ namespace: secretNs, body: { metadata: { name: sa } } });
    for (const ns of [pcNs, secretNs]) {
      await core.createNamespacedService({
        namespace: ns,
        body: {
          metadata: { name: 'server' },
          spec: { selector: { app: 'server' }, ports: [{ port: 8443, targetPort: 8443 }] },
        },
      });
      await core.createNamespacedPod({
        namespace: ns,
        body: appPod('server', ['serve', '--port', '8443'], {
          serviceAccountName: 'server',
          labels: { app: 'server' },
          restartPolicy: 'Always',
        }),
      });
    }
    for (const ns of [pcNs, secretNs]) await waitRunning(ns, 'server');
    // Each client calls the server of the other namespace, verifying its Service name (a DNS SAN).
    for (const [clientNs, serverNs] of [
      [secretNs, pcNs],
      [pcNs, secretNs],
    ] as const) {
      const ip =
        (await core.readNamespacedService({ namespace: serverNs, name: 'server' })).spec?.clusterIP ?? '';
      await core.createNamespacedPod({
        namespace: clientNs,
        body: appPod(
          'client',
          [
            'call',
            '--url',
            `https://server.${serverNs}.svc:8443/`,
            '--address',
            ip,
            '--count',
            '3',
            '--interval',
            '200',
          ],
          {
            serviceAccountName: 'client',
            securityContext: { runAsUser: 1001 },
          },
        ),
      });
      await waitSucceeded(clientNs, 'client');
      const calls = logLines(clientNs, 'client').filter((l) => l.event === 'call');
      expect(calls).toHaveLength(3);
      for (const call of calls)
        expect(call).toMatchObject({
          ok: true,
          status: 200,
          peer: `spiffe://cluster.local/ns/${serverNs}/sa/server`,
        });
      const handshakes = logLines(serverNs, 'server').filter(
        (l) => l.event === 'handshake' && l.peer === `spiffe://cluster.local/ns/${clientNs}/sa/client`,
      );
      expect(handshakes.length).toBeGreaterThanOrEqual(3);
    }
    // Finished clients keep their Secret until they are deleted (and a CA activation waits for every managed
    // Secret): delete them.
    for (const ns of [pcNs, secretNs]) await core.deleteNamespacedPod({ namespace: ns, name: 'client' });
    // The secret-mode side got a Secret; the podCertificate side none.
    expect(
      (await core.listNamespacedSecret({ namespace: secretNs })).items.some(
        (s) => s.data?.['tls.key'] !== undefined,
      ),
    ).toBe(true);
    expect(
      (await core.listNamespacedSecret({ namespace: pcNs })).items.some(
        (s) => s.data?.['tls.key'] !== undefined,
      ),
    ).toBe(false);
  }, 300_000);

  it('schedules the refresh inside the API server window: refreshAt 0.1 ± 0.1 of 1 h, at least notBefore + 10 min', async () => {
    const ns = await namespaces.create('pc-schedule', {
      'mtls-injection': 'enabled',
      [DELIVERY_LABEL]: 'podCertificate',
    });
    await core.createNamespacedPod({ namespace: ns, body: ownProjectionPod('hour', 'ECDSAP256') });
    const pcr = await answered(ns, 'hour');
    expect(conditionOf(pcr)?.type).toBe('Issued');
    const nb = Date.parse(pcr.status?.notBefore ?? '');
    const na = Date.parse(pcr.status?.notAfter ?? '');
    const refresh = Date.parse(pcr.status?.beginRefreshAt ?? '');
    const created = Date.parse(pcr.metadata.creationTimestamp ?? '');
    expect(na - nb).toBe(3_600_000);
    // Back-dated by podCertificate.backdate (270 s) from the moment of signing, after the request was made;
    // the API server accepted it, so within 5 minutes of its clock.
    expect(nb).toBeLessThan(created);
    expect(created - nb).toBeLessThanOrEqual(5 * 60_000);
    // refreshAt 0.1 ± renewJitter 0.1 of an hour is 0-12 min; the API server's floor is notBefore + 10 min.
    // (The default 0.5 ± 0.1 is covered by test/rotator/signer/validity.test.ts.)
    expect(refresh - nb).toBeGreaterThanOrEqual(600_000);
    expect(refresh - nb).toBeLessThanOrEqual(0.2 * 3_600_000);
    await waitRunning(ns, 'hour');
  });

  describe('denials: each with its reason, and the pod does not start', () => {
    const cases = [
      {
        name: 'an unsupported key type',
        pod: 'p384',
        keyType: 'ECDSAP384',
        labels: { 'mtls-injection': 'enabled' },
        reason: 'UnsupportedKeyType',
      },
      {
        name: 'a namespace not opted in',
        pod: 'stray',
        keyType: 'ECDSAP256',
        labels: {},
        reason: 'NamespaceNotOptedIn',
      },
    ] as const;
    for (const c of cases) {
      it(c.name, async () => {
        const ns = await namespaces.create('pc-deny', c.labels, false);
        await core.createNamespacedPod({ namespace: ns, body: ownProjectionPod(c.pod, c.keyType) });
        const pcr = await answered(ns, c.pod);
        expect(conditionOf(pcr)).toMatchObject({ type: 'Denied', status: 'True', reason: c.reason });
        // The signer's Event: on the pod when it judged the pod, else (key type, namespace) on the request.
        const event = await waitFor('the Event PodCertificateDenied', async () =>
          (
            await core.listNamespacedEvent({ namespace: ns, fieldSelector: 'reason=PodCertificateDenied' })
          ).items.find((e) => [c.pod, pcr.metadata.name].includes(e.involvedObject.name ?? '')),
        );
        expect(event.message).toContain(`(${c.reason})`);
        // The kubelet learns the denial and refuses to mount the volume: the pod never starts.
        await kubeletEvent(ns, c.pod, `permanently denied: reason="${c.reason}"`);
        const pod = await core.readNamespacedPod({ namespace: ns, name: c.pod });
        expect(pod.status?.phase).toBe('Pending');
        expect(pod.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('ContainerCreating');
      });
    }

    it('a pod UID that does not match (and a pod that does not exist), in requests made by hand', async () => {
      const ns = await podCertificateNamespace('pc-uid', []);
      const pod = await core.createNamespacedPod({
        namespace: ns,
        body: plainPod('real-', { unschedulable: true }),
      });
      const [node] = (await core.listNode()).items;
      const sa = await core.readNamespacedServiceAccount({ namespace: ns, name: 'default' });
      // What a kubelet would file, but with another UID: only an admin (not a node) can create it.
      const request = (name: string, podName: string, podUID: string) => ({
        apiVersion: 'certificates.k8s.io/v1',
        kind: 'PodCertificateRequest',
        metadata: { name },
        spec: {
          signerName: SIGNER,
          podName,
          podUID,
          serviceAccountName: 'default',
          serviceAccountUID: sa.metadata?.uid ?? '',
          nodeName: node?.metadata?.name ?? '',
          nodeUID: node?.metadata?.uid ?? '',
          maxExpirationSeconds: 3600,
          stubPKCS10Request: stubCsr('ECDSAP256').csr,
        },
      });
      const podName = pod.metadata?.name ?? '';
      await custom.createNamespacedCustomObject({
        ...PCR,
        namespace: ns,
        body: request('wrong-uid', podName, 'not-the-pods-uid'),
      });
      await custom.createNamespacedCustomObject({
        ...PCR,
        namespace: ns,
        body: request('no-pod', 'ghost', 'ghost-uid'),
      });
      expect(conditionOf(await answered(ns, podName))).toMatchObject({
        type: 'Denied',
        reason: 'PodUIDMismatch',
        message: expect.stringContaining(
          `has UID ${pod.metadata?.uid ?? ''}, the request names UID not-the-pods-uid`,
        ) as unknown,
      });
      expect(conditionOf(await answered(ns, 'ghost'))).toMatchObject({
        type: 'Denied',
        reason: 'PodNotFound',
      });
    });
  });

  it('check explains a pod in this mode: delivery and why, request state, notAfter, refresh time', async () => {
    const ns = await podCertificateNamespace('pc-check', ['web']);
    await core.createNamespacedPod({
      namespace: ns,
      body: appPod('sleeper', ['whoami', '--watch', '60000'], { serviceAccountName: 'web' }),
    });
    await waitRunning(ns, 'sleeper');
    const pcr = await answered(ns, 'sleeper');
    // Revocation files running beside this one add to the record, and a namespace made moments before has a
    // ca.crl without that entry (`crl_stale`, docs/revocation.md) until the rotator republishes it: so check is
    // asked again, every 2 s up to 90 s, while it says so. A CRL that never catches up still fails the test.
    const checkWithCurrentCrl = (what: string, args: string[]) =>
      waitFor(
        what,
        () => {
          const run = cli(args);
          return Promise.resolve(run.stdout.includes('crl_stale') ? undefined : run);
        },
        { timeoutMs: 90_000, intervalMs: 2_000 },
      );
    const out = await checkWithCurrentCrl('check of the sleeper with a current CRL', [
      'check',
      '-n',
      ns,
      '--pod',
      'sleeper',
    ]);
    expect(out.stdout).toContain(
      `delivery: podCertificate (namespace label ${DELIVERY_LABEL}=podCertificate)`,
    );
    expect(out.stdout).toContain(`pod certificate: request ${ns}/${pcr.metadata.name} Issued (Issued)`);
    expect(out.stdout).toContain(`the kubelet refreshes from ${pcr.status?.beginRefreshAt ?? '?'}`);
    expect(out.stdout).toMatch(/✔ pod-certificate-request: PodCertificateRequest .* issued: valid until/);
    expect(out.stdout).toMatch(
      /✔ delivery: delivery\.mode=auto gives podCertificate volumes: certificates\.k8s\.io\/v1 PodCertificateRequests served/,
    );
    expect(out.code, out.stdout + out.stderr).toBe(0);

    // A denied pod: an error naming the signer's reason.
    const denied = await namespaces.create('pc-check-deny', { 'mtls-injection': 'enabled' }, false);
    await core.createNamespacedPod({ namespace: denied, body: ownProjectionPod('p384', 'ECDSAP384') });
    await answered(denied, 'p384');
    type Json = {
      namespace: {
        pods: {
          podCertificate: { state: string; reason: string } | null;
          checks: { name: string; ok: boolean; reason: string; message: string }[];
        }[];
      };
    };
    const deniedOut = await checkWithCurrentCrl('check of the denied pod with a current CRL', [
      'check',
      '-n',
      denied,
      '--pod',
      'p384',
      '-o',
      'json',
    ]);
    const json = JSON.parse(deniedOut.stdout) as Json;
    // An opted-out pod with its own projection of our signer: not injected, but judged by its request.
    const [report] = json.namespace.pods;
    expect(report?.checks.map((c) => [c.name, c.ok, c.reason])).toEqual([
      ['injection', false, 'opted_out'],
      ['pod-certificate-request', false, 'request_denied'],
      ['crl', true, 'crl_current'], // the ca.crl it would mount (docs/revocation.md)
    ]);
    expect(report?.checks[1]?.message).toMatch(/denied \(UnsupportedKeyType\): .*the pod does not start/);
    expect(report?.podCertificate).toMatchObject({ state: 'Denied', reason: 'UnsupportedKeyType' });
    expect(deniedOut.code).not.toBe(0);
  });

  // The CA rotation and the kubelet's refresh overlap, as they would in a cluster: the rotation is activated
  // while 'renewing' still waits for its refresh (beginRefreshAt plus the kubelet's jitter of up to 5 min),
  // and retired after it. Activated, the CA is every file's new one, so each part takes the cluster alone;
  // in between, other files run against the activated CA.
  let rotation: Rotation | undefined;
  it(
    'rotates the CA, part 1, under live traffic: prepare and activate; the ClusterTrustBundle carries both roots; new requests are signed by the new CA; retire waits for the pods',
    async () => {
      const traffic = pair;
      if (traffic === undefined) throw new Error('the live traffic did not start (beforeAll)');
      rotation = await cluster.exclusively('CA rotation: prepare and activate', () =>
        activateWithPodCertificates(traffic, refreshNs),
      );
    },
    LOCK_WAIT_MS + 600_000,
  );

  it(
    'the kubelet refreshes the certificate of a running pod at beginRefreshAt: new key, new leaf, files swapped',
    async () => {
      const ns = refreshNs;
      await waitRunning(ns, 'renewing');
      const first = await answered(ns, 'renewing');
      expect(conditionOf(first)?.type).toBe('Issued');
      const [initial] = logLines(ns, 'renewing').filter((l) => l.event === 'whoami');
      expect(initial).toMatchObject({ keyMatches: true, spiffeId: `spiffe://cluster.local/ns/${ns}/sa/web` });
      // beginRefreshAt is at most 12 min after notBefore (see the test above); the kubelet adds up to 5 min of
      // jitter and checks once every 1-2 min; the volume is rewritten at the pod's next sync.
      const changed = await waitFor(
        'the running container sees a new certificate',
        () =>
          Promise.resolve(
            logLines(ns, 'renewing').find((l) => l.event === 'whoami' && l.previousSerial !== undefined),
          ),
        { timeoutMs: 20 * 60_000, intervalMs: 5000 },
      );
      expect(changed).toMatchObject({
        previousSerial: initial?.serial,
        keyMatches: true,
        spiffeId: `spiffe://cluster.local/ns/${ns}/sa/web`,
      });
      expect(changed.serial).not.toBe(initial?.serial);

      // The kubelet filed a second request (a new key) no earlier than the first one's beginRefreshAt, and the
      // signer issued the leaf the container now reads; openssl verifies it against the ClusterTrustBundle.
      const requests = (await requestsOf(ns, 'renewing')).sort((a, b) =>
        (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''),
      );
      expect(requests.length).toBeGreaterThanOrEqual(2);
      const [, refreshed] = requests as [Pcr, Pcr];
      expect(refreshed.metadata.name).not.toBe(first.metadata.name);
      expect(Date.parse(refreshed.metadata.creationTimestamp ?? '')).toBeGreaterThanOrEqual(
        Date.parse(first.status?.beginRefreshAt ?? ''),
      );
      expect(conditionOf(refreshed)?.type).toBe('Issued');
      const leaf = opensslVerifyChain(refreshed.status?.certificateChain ?? '', clusterTrustBundle());
      expect(leaf.serial).toBe(changed.serial);
      expect(leaf.uri).toBe(`spiffe://cluster.local/ns/${ns}/sa/web`);
      const key = (r: Pcr) =>
        new X509Certificate(r.status?.certificateChain ?? '').publicKey.export({
          type: 'spki',
          format: 'der',
        });
      expect(key(refreshed).equals(key(first))).toBe(false);
      expect(await secretsHoldingKeyOf(refreshed.status?.certificateChain ?? '')).toEqual([]);
      // A request the kubelet filed after the rotation was activated is signed by the new CA: the refresh is
      // what moves a running pod to it (docs/pod-certificates.md).
      const activatedAt = rotation?.activatedAt;
      if (
        activatedAt !== undefined &&
        Date.parse(refreshed.metadata.creationTimestamp ?? '') > activatedAt + 1000
      ) {
        const issuer = new X509Certificate(rotation?.newRoot ?? '');
        expect(new X509Certificate(refreshed.status?.certificateChain ?? '').checkIssued(issuer)).toBe(true);
      }
      console.log(
        `pod certificate refresh: first request ${first.metadata.creationTimestamp ?? ''}, beginRefreshAt ` +
          `${first.status?.beginRefreshAt ?? ''}, refresh request ${refreshed.metadata.creationTimestamp ?? ''}; ` +
          `rotation activated ${activatedAt === undefined ? 'never' : new Date(activatedAt).toISOString()}`,
      );
    },
    25 * 60_000,
  );

  it(
    'rotates the CA, part 2, under live traffic: retire once no pod may hold a leaf of the previous CA; the ClusterTrustBundle keeps only the new root',
    async () => {
      if (rotation === undefined) throw new Error('part 1 of the CA rotation did not run');
      const activated = rotation;
      await cluster.exclusively('CA rotation: retire', () => retireWithPodCertificates(activated));
    },
    LOCK_WAIT_MS + 600_000,
  );

  it('keeps the live traffic through both parts of the CA rotation: zero failed handshakes, no restart; its leaves chain to the new root only', async () => {
    if (rotation === undefined) throw new Error('part 1 of the CA rotation did not run');
    await verifyTrafficThroughRotation(core, rotation.run);
  }, 300_000);
});

/** What part 1 of the rotation leaves for part 2. */
interface Rotation {
  readonly newRoot: string;
  /** When activate was accepted (ms since the epoch). */
  readonly activatedAt: number;
  /** The rotation under the live traffic (test/e2e/rotation-under-traffic.ts). */
  readonly run: RotationRun;
}

/**
 * The rotation with pod certificates, prepare to activate (alone on the cluster: its CA is every file's).
 * `refreshNamespace`: the namespace of the pod that waits for its refresh, which keeps its pods.
 */
async function activateWithPodCertificates(pair: TrafficPair, refreshNamespace: string): Promise<Rotation> {
  const ns = await podCertificateNamespace('pc-rotate', ['web']);
  await core.createNamespacedPod({
    namespace: ns,
    body: appPod('before', ['whoami', '--watch', '60000'], {
      serviceAccountName: 'web',
      restartPolicy: 'Always',
    }),
  });
  await waitRunning(ns, 'before');
  const oldRoot = await caSecretFile('tls.crt');
  // The installed ca.propagationDelay (no override): Secret-mode pods of other files keep running through
  // this rotation, and the kubelets must deliver their reissued Secrets. prepare and activate are those of the
  // rotation under live traffic, with all it checks (status, the delivery waits, every Secret, the pair).
  const run = await prepareUnderTraffic(core, pair);
  expect(run.oldRoot).toBe(oldRoot);
  await waitFor(
    'the ClusterTrustBundle holds both roots',
    () => Promise.resolve(certCount(clusterTrustBundle()) === 2),
    { timeoutMs: 60_000, intervalMs: 1000 },
  );
  await activateUnderTraffic(core, run);
  const activatedAt = run.activatedAt ?? Date.now();
  const newRoot = await caSecretFile('tls.crt');
  expect(newRoot).not.toBe(oldRoot);
  // The rotator reads the CA Secret every 10 s: once it has reissued the webhook's serving certificate
  // from the new CA, it signs with it.
  await waitFor(
    'the rotator issues from the new CA (the webhook serving certificate)',
    async () => {
      const s = await core.readNamespacedSecret({
        namespace: install(),
        name: 'mtls-injector-webhook-tls',
      });
      const crt = Buffer.from(s.data?.['tls.crt'] ?? '', 'base64').toString('utf8');
      return new X509Certificate(crt).checkIssued(new X509Certificate(newRoot));
    },
    { timeoutMs: 90_000, intervalMs: 1000 },
  );

  // A pod created now gets a leaf of the new CA; the one from before still holds the old CA's.
  await core.createNamespacedPod({
    namespace: ns,
    body: appPod('after', ['whoami'], { serviceAccountName: 'web' }),
  });
  const after = await answered(ns, 'after');
  const leaf = new X509Certificate(after.status?.certificateChain ?? '');
  expect(leaf.checkIssued(new X509Certificate(newRoot))).toBe(true);
  const before = await answered(ns, 'before');
  expect(
    new X509Certificate(before.status?.certificateChain ?? '').checkIssued(new X509Certificate(oldRoot)),
  ).toBe(true);

  // The webhook's own serving certificate must come from the new CA before the old root may go (docs/e2e.md).
  await waitFor(
    'every webhook pod serves a certificate from the new CA',
    async () => {
      const pods = await productPods(core, 'webhook');
      const ok = await Promise.all(pods.map((p) => servesChainTo(p.status?.podIP ?? '', newRoot)));
      return pods.length > 0 && ok.every(Boolean);
    },
    { timeoutMs: 180_000, intervalMs: 2000 },
  );
  const refused = await waitFor(
    'retire refused for the pod that holds a leaf of the old CA',
    () => {
      const r = cli(['ca', 'rotate', 'retire']);
      return Promise.resolve(
        r.code !== 0 && /may still hold a pod certificate of the previous CA/.test(r.stderr) ? r : undefined,
      );
    },
    { timeoutMs: 60_000, intervalMs: 2000 },
  );
  const pending = Number(/(\d+) pod\(s\) may still hold/.exec(refused.stderr)?.[1] ?? 0);
  expect(pending).toBeGreaterThanOrEqual(1);
  // Restarting the pods that may still hold a leaf of the old CA would do (their new requests are signed by
  // the new CA); deleting them too. Those of the tests that are over go now, 'before' among them, so that the
  // rotator has dropped them from its record (it looks for gone pods once a minute) by the time the refresh
  // is seen; 'renewing' stays for its refresh, and part 2 deletes whatever still holds one.
  const gone = await deletePodCertificateHolders((p) => p.metadata?.namespace !== refreshNamespace);
  expect(gone).toContain(`${ns}/before`);
  return { newRoot, activatedAt, run };
}

/**
 * Deletes every live pod with a podCertificate volume of our signer (this suite's, since the CA rotation
 * holds the cluster alone) that `which` selects; answers their namespace/name.
 */
async function deletePodCertificateHolders(which: (pod: V1Pod) => boolean = () => true): Promise<string[]> {
  const holders = (await core.listPodForAllNamespaces()).items
    .filter((p) =>
      (p.spec?.volumes ?? []).some((v) =>
        (v.projected?.sources ?? []).some((src) => src.podCertificate?.signerName === SIGNER),
      ),
    )
    .filter(which);
  for (const p of holders)
    await core.deleteNamespacedPod({
      namespace: p.metadata?.namespace ?? '',
      name: p.metadata?.name ?? '',
      gracePeriodSeconds: 0,
    });
  return holders.map((p) => `${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}`);
}

/** The rotation with pod certificates, retired (alone on the cluster again). */
async function retireWithPodCertificates({ newRoot, run }: Rotation): Promise<void> {
  // Whatever may still hold a leaf of the old CA goes ('renewing', unless its refresh came after activate and
  // so from the new CA; the rest went in part 1).
  await deletePodCertificateHolders();
  // retire --wait under the live traffic, with all it checks (the delivery wait, the webhook's serving
  // certificate, every bundle and the caBundle without the old root, the pair, steady).
  await retireUnderTraffic(core, run);
  await waitFor(
    'the ClusterTrustBundle holds only the new root',
    () => Promise.resolve(certCount(clusterTrustBundle()) === 1),
    { timeoutMs: 60_000, intervalMs: 1000 },
  );
  expect(new X509Certificate(clusterTrustBundle()).fingerprint256).toBe(
    new X509Certificate(newRoot).fingerprint256,
  );
  expect(cli(['ca', 'rotate', 'status']).stdout).toContain('phase: steady');
}

describe('delivery.mode=auto', () => {
  it(`gives a namespace without the delivery label ${served ? 'podCertificate volumes' : 'Secrets'} here, and check says why`, async () => {
    const ns = await namespaces.create('auto', { 'mtls-injection': 'enabled' }, false);
    const pod = await core.createNamespacedPod({
      namespace: ns,
      body: plainPod('auto-', { unschedulable: true }),
    });
    const volume = pod.spec?.volumes?.find((v) => v.name === 'mtls-certs');
    const name = pod.metadata?.name ?? '';
    const out = cli(['check', '-n', ns, '--pod', name]);
    if (served) {
      expect(volume?.projected?.sources?.[0]?.podCertificate?.signerName).toBe(SIGNER);
      expect(out.stdout).toContain(
        `delivery: podCertificate (delivery.mode=auto: ${facts.podCertificateRequests} PodCertificateRequests served, as the rotator`,
      );
    } else {
      // A generateName pod's Secret is <generateName><10 random characters>-mtls, named in its annotation.
      expect(volume?.secret?.secretName).toMatch(/^auto-[a-z0-9]{10}-mtls$/);
      expect(volume?.secret?.secretName).toBe(pod.metadata?.annotations?.['mtls-injector.io/secret']);
      expect(out.stdout).toContain(
        `delivery: secret (delivery.mode=auto: no PodCertificateRequest API, as the rotator`,
      );
      expect(out.stdout).toMatch(
        /✔ delivery: delivery\.mode=auto gives Secrets: no PodCertificateRequest API/,
      );
    }
  });
});
