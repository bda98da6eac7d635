import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:net';
import { join } from 'node:path';
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  VersionApi,
  type V1Pod,
  type V1PodSecurityContext,
} from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { images, loadKubeConfig, testNamespaces, waitFor } from './helpers.js';
import { e2eDir, kubectl, opensslVerify, productEnv, productPods, secretOf } from './product.js';
import { sharesCluster } from './cluster-lock.js';

// The real node: the kubelet runs the chart's pods from the images built here, and a workload's container
// reads the files mtls-injector mounted, as its own non-root user.
const kc = loadKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const admission = kc.makeApiClient(AdmissionregistrationV1Api);
const namespaces = testNamespaces(core);

afterAll(() => namespaces.deleteAll());

const ready = (p: V1Pod): boolean =>
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/** A pod of the test app (test/e2e/app) with `args`, as `securityContext`'s user. */
function appPod(
  name: string,
  args: string[],
  securityContext: V1PodSecurityContext,
  extra: { serviceAccountName?: string; labels?: Record<string, string>; restartPolicy?: string } = {},
): V1Pod {
  return {
    metadata: { name, labels: extra.labels ?? {} },
    spec: {
      restartPolicy: extra.restartPolicy ?? 'Never',
      ...(extra.serviceAccountName === undefined ? {} : { serviceAccountName: extra.serviceAccountName }),
      securityContext: { runAsNonRoot: true, ...securityContext },
      containers: [{ name: 'app', image: images().app, args }],
    },
  };
}

/** The JSON lines a container logged, read back with `kubectl logs` (API server → kubelet). */
function logLines(ns: string, pod: string, container = 'app'): Record<string, unknown>[] {
  return kubectl(['-n', ns, 'logs', pod, '-c', container])
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

sharesCluster('node.e2e.test.ts');

describe('the node', () => {
  it('is Ready and runs the chart: 2 webhook and 2 rotator pods from the image built here', async () => {
    const [node] = (await core.listNode()).items;
    expect(node?.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    const version = await kc.makeApiClient(VersionApi).getCode();
    expect(node?.status?.nodeInfo?.kubeletVersion).toBe(version.gitVersion);
    expect(node?.status?.nodeInfo?.containerRuntimeVersion).toMatch(/^containerd:\/\//);

    for (const component of ['webhook', 'rotator'] as const) {
      const pods = await productPods(core, component);
      expect(pods, component).toHaveLength(2);
      for (const pod of pods) {
        expect(pod.status?.phase).toBe('Running');
        expect(ready(pod)).toBe(true);
        expect(pod.spec?.nodeName).toBe(node?.metadata?.name);
        expect(pod.spec?.serviceAccountName).toBe(`mtls-injector-${component}`);
        expect(pod.spec?.containers[0]?.image).toBe(images().product);
      }
    }
    // The API server calls the webhook through its Service (no URL).
    const config = await admission.readMutatingWebhookConfiguration({ name: 'mtls-injector' });
    for (const webhook of config.webhooks ?? []) {
      expect(webhook.clientConfig.url).toBeUndefined();
      expect(webhook.clientConfig.service).toMatchObject({
        namespace: productEnv().installNamespace,
        name: 'mtls-injector-webhook',
      });
    }
  });

  it('weighs and counts CPU like a systemd node: daemons in system, the control plane apart, pods in kubepods', () => {
    // docs/e2e.md, "CPU weights like a systemd node's" (scripts/e2e/sandbox.sh, lib.sh start_in_sandbox).
    const root = /^CGROUP_ROOT=(.*)$/m.exec(readFileSync(join(e2eDir, 'sandbox.env'), 'utf8'))?.[1];
    expect(root).toMatch(/^\/mtls-e2e-\d+$/);
    // A process's cgroup in the hierarchy of one controller: cpu (weights) and cpuacct (CPU accounting, which
    // the start-up bench reads; here a hierarchy of its own).
    const cgroupOf = (controller: 'cpu' | 'cpuacct', pid: string): string =>
      new RegExp(`^\\d+:${controller}:(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/cgroup`, 'utf8'))?.[1] ??
      '';
    const pidOf = (name: string): string => readFileSync(join(e2eDir, 'pids', `${name}.pid`), 'utf8').trim();
    // Other files' pods come and go beside this test: a process or cgroup may be gone by the time it is read.
    const readOr = (path: string): string => {
      try {
        return readFileSync(path, 'utf8');
      } catch {
        return '';
      }
    };
    const comm = (pid: string): string => readOr(`/proc/${pid}/comm`).trim();
    const groups = {
      system: ['containerd', 'kubelet', 'kube-proxy'],
      'control-plane': ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'],
    };
    for (const [group, names] of Object.entries(groups))
      for (const name of names)
        for (const controller of ['cpu', 'cpuacct'] as const)
          expect(cgroupOf(controller, pidOf(name)), `${name} (${controller})`).toBe(`${root}/${group}`);
    const shares = (group: string): number =>
      Number(readFileSync(`/sys/fs/cgroup/cpu${root}/${group}/cpu.shares`, 'utf8'));
    expect(shares('system')).toBe(1024);
    expect(shares('control-plane')).toBe(1024);
    expect(shares('kubepods')).toBeGreaterThan(1024);
    // Containers do not stay with their shims: runc moves them into kubepods.
    const shims = readFileSync(`/sys/fs/cgroup/cpu${root}/system/cgroup.procs`, 'utf8')
      .split('\n')
      .filter((pid) => pid !== '' && comm(pid).startsWith('containerd-shim'));
    expect(shims.length).toBeGreaterThan(0);
    // A pod's cgroup may be removed while this walks it: a directory gone is a directory with no processes.
    const procsUnder = (dir: string): string[] => {
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return [];
      }
      return entries.flatMap((e) =>
        e.isDirectory()
          ? procsUnder(join(dir, e.name))
          : e.name === 'cgroup.procs'
            ? readOr(join(dir, e.name))
                .split('\n')
                .filter((pid) => pid !== '')
            : [],
      );
    };
    // The product's webhook and rotator: `node /app/dist/main.js webhook|rotator` in their pods' cgroups.
    const inPods = procsUnder(`/sys/fs/cgroup/cpu${root}/kubepods`).map((pid) =>
      readOr(`/proc/${pid}/cmdline`).split('\0'),
    );
    const product = inPods.filter((argv) => argv[1] === '/app/dist/main.js');
    // At least one of each (another file may be rolling the product meanwhile).
    expect(new Set(product.map((argv) => argv[2]))).toEqual(new Set(['rotator', 'webhook']));
  });

  it('runs a non-root pod that reads /var/run/mtls/tls.key and prints its SPIFFE ID (kubectl logs)', async () => {
    const ns = await namespaces.create('whoami', { 'mtls-injection': 'enabled' });
    // One pod with an fsGroup and one without: both users must be able to read the key.
    const cases = [
      { name: 'with-fsgroup', ctx: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 2000 } },
      { name: 'no-fsgroup', ctx: { runAsUser: 1001, runAsGroup: 1001 } },
    ];
    for (const c of cases)
      await core.createNamespacedPod({ namespace: ns, body: appPod(c.name, ['whoami'], c.ctx) });
    for (const c of cases) {
      const pod = await waitFor(
        `pod ${c.name} Succeeded`,
        async () => {
          const p = await core.readNamespacedPod({ namespace: ns, name: c.name });
          if (p.status?.phase === 'Failed')
            throw new Error(`pod ${c.name} failed: ${JSON.stringify(p.status)}`);
          return p.status?.phase === 'Succeeded' ? p : undefined;
        },
        { timeoutMs: 90_000 },
      );
      const [line] = logLines(ns, c.name).filter((l) => l.event === 'whoami');
      expect(line).toMatchObject({
        uid: c.ctx.runAsUser,
        spiffeId: `spiffe://cluster.local/ns/${ns}/sa/default`,
        keyMatches: true,
      });
      // The serial the container read is the one in the pod's Secret, checked by openssl.
      const fromSecret = opensslVerify(await secretOf(core, pod));
      expect(String(line?.serial).toUpperCase()).toBe(fromSecret.serial.toUpperCase());
      expect(kubectl(['-n', ns, 'logs', c.name, '-c', 'mtls-init'])).toContain(
        `identity spiffe://cluster.local/ns/${ns}/sa/default verified`,
      );
      // From mtls-init's own image (init.repository), not the product image.
      expect(pod.spec?.initContainers?.[0]?.image).toBe(images().init);
    }
  });

  it('carries mTLS between pods through a ClusterIP Service, and the host reaches ClusterIPs', async () => {
    const ns = await namespaces.create('mesh', { 'mtls-injection': 'enabled' });
    for (const sa of ['server', 'client'])
      await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: sa } } });
    await core.createNamespacedService({
      namespace: ns,
      body: {
        metadata: { name: 'server' },
        spec: { selector: { app: 'server' }, ports: [{ port: 8443, targetPort: 8443 }] },
      },
    });
    await core.createNamespacedPod({
      namespace: ns,
      body: appPod(
        'server',
        ['serve', '--port', '8443'],
        { runAsUser: 1000 },
        {
          serviceAccountName: 'server',
          labels: { app: 'server' },
          restartPolicy: 'Always',
        },
      ),
    });
    await waitFor(
      'server Ready',
      async () => ready(await core.readNamespacedPod({ namespace: ns, name: 'server' })),
      {
        timeoutMs: 90_000,
      },
    );
    const clusterIp =
      (await core.readNamespacedService({ namespace: ns, name: 'server' })).spec?.clusterIP ?? '';
    // kube-proxy programs the Service a moment after the server is Ready (a loaded node: seconds); the
    // client's calls are about mTLS, so they start once a TCP connect through the ClusterIP succeeds.
    await waitFor('the Service reachable through its ClusterIP', () => tcpConnects(clusterIp, 8443), {
      timeoutMs: 60_000,
    });
    // Hostname verification against the Service's DNS name (a DNS SAN), dialling its ClusterIP (no cluster DNS).
    await core.createNamespacedPod({
      namespace: ns,
      body: appPod(
        'client',
        [
          'call',
          '--url',
          `https://server.${ns}.svc:8443/`,
          '--address',
          clusterIp,
          '--count',
          '3',
          '--interval',
          '200',
        ],
        { runAsUser: 1001 },
        { serviceAccountName: 'client' },
      ),
    });
    await waitFor(
      'client Succeeded',
      async () =>
        (await core.readNamespacedPod({ namespace: ns, name: 'client' })).status?.phase === 'Succeeded',
      { timeoutMs: 90_000 },
    );
    const calls = logLines(ns, 'client').filter((l) => l.event === 'call');
    expect(calls).toHaveLength(3);
    for (const call of calls)
      expect(call, JSON.stringify(call)).toMatchObject({
        ok: true,
        status: 200,
        peer: `spiffe://cluster.local/ns/${ns}/sa/server`,
      });
    const handshakes = logLines(ns, 'server').filter((l) => l.event === 'handshake');
    expect(handshakes.length).toBeGreaterThanOrEqual(3);
    for (const h of handshakes) expect(h.peer).toBe(`spiffe://cluster.local/ns/${ns}/sa/client`);

    // From the host: the kubernetes Service's ClusterIP (kube-proxy's rules in the node sandbox, reached
    // through the host route of the Service range).
    const apiIp = (await core.readNamespacedService({ namespace: 'default', name: 'kubernetes' })).spec
      ?.clusterIP;
    const pki = (f: string): Buffer => readFileSync(join(e2eDir, 'pki', f));
    const body = await new Promise<string>((resolve, reject) => {
      const req = request(
        {
          host: apiIp,
          port: 443,
          path: '/readyz',
          servername: 'kubernetes.default.svc',
          ca: pki('ca.crt'),
          cert: pki('admin.crt'),
          key: pki('admin.key'),
        },
        (res) => {
          let text = '';
          res.on('data', (d) => (text += String(d)));
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(body).toBe('ok');
  });
});

/** Whether a TCP connection to host:port opens within a second (closed at once). */
function tcpConnects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1_000 });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}
