import type { AppsV1Api, CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { expect } from 'vitest';
import { waitFor } from './helpers.js';
import {
  appContainer,
  deployment,
  httpsService,
  linesOf,
  logLines,
  rolledOut,
  serverContainer,
  serviceAccounts,
} from './workloads.js';

// Live traffic for the e2e suites: a server and a client Deployment of the test app (test/e2e/app/mtls-app.mjs)
// in an opted-in namespace talk mTLS through a Service with hostname verification, the client calling once a
// second for as long as the namespace lives. Every call and every handshake is in the containers' logs.

/** A running server and client pair (startTrafficPair). */
export interface TrafficPair {
  readonly ns: string;
  /** The server Service's ClusterIP (there is no cluster DNS: the client dials it, verifying the name). */
  readonly clusterIp: string;
  readonly server: V1Pod;
  readonly client: V1Pod;
}

/** The SPIFFE ID of service account `sa` in `ns` (trust domain cluster.local, as the e2e install sets). */
export function spiffeOf(ns: string, sa: string): string {
  return `spiffe://cluster.local/ns/${ns}/sa/${sa}`;
}

/** A pod's name. */
export function podName(pod: V1Pod): string {
  return pod.metadata?.name ?? '';
}

/**
 * Starts the pair in `ns` (an opted-in namespace of Secret delivery) and resolves once both Deployments have
 * rolled out: service accounts `server`, `client` and `other` (one the server does not allow), the Service
 * `server`; the server (uid 1000, fsGroup 2000) lets only the client's identity call it, the client (uid 1001,
 * no fsGroup: the Secret's file mode differs) calls `https://server.<ns>.svc:8443/` once a second.
 */
export async function startTrafficPair(core: CoreV1Api, apps: AppsV1Api, ns: string): Promise<TrafficPair> {
  await serviceAccounts(core, ns, ['server', 'client', 'other']);
  const clusterIp = await httpsService(core, ns, 'server');
  await apps.createNamespacedDeployment({
    namespace: ns,
    // The server lets only the client's identity call it (the app checks the peer's SPIFFE ID itself).
    body: deployment('server', serverContainer(['--allow', spiffeOf(ns, 'client')]), {
      serviceAccountName: 'server',
      securityContext: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 2000 },
    }),
  });
  const [server] = (await rolledOut(core, apps, ns, 'server')) as [V1Pod];
  // Hostname verification against the Service's DNS name (a DNS SAN), dialling its ClusterIP (no cluster DNS).
  const url = `https://server.${ns}.svc:8443/`;
  await apps.createNamespacedDeployment({
    namespace: ns,
    body: deployment(
      'client',
      appContainer(['call', '--url', url, '--address', clusterIp, '--interval', '1000']),
      {
        serviceAccountName: 'client',
        securityContext: { runAsUser: 1001, runAsGroup: 1001 },
      },
    ),
  });
  const [client] = (await rolledOut(core, apps, ns, 'client')) as [V1Pod];
  return { ns, clusterIp, server, client };
}

/** The client's calls and the server's handshakes between `since` and `until` (epoch ms). */
export function trafficOf(pair: TrafficPair, since: number, until = Infinity) {
  const calls = linesOf(logLines(pair.ns, podName(pair.client)), 'call', since, until);
  const serverLines = logLines(pair.ns, podName(pair.server));
  return {
    calls,
    failed: calls.filter((c) => c.ok !== true),
    handshakes: linesOf(serverLines, 'handshake', since, until),
    refused: linesOf(serverLines, 'handshake-refused', since, until),
    reloads: linesOf(serverLines, 'reloaded', since, until),
  };
}

/** Waits for `n` more calls by the client after `since`. */
export async function moreCalls(pair: TrafficPair, since: number, n: number): Promise<void> {
  await waitFor(`${n} calls after ${new Date(since).toISOString()}`, () =>
    Promise.resolve(linesOf(logLines(pair.ns, podName(pair.client)), 'call', since).length >= n),
  );
}

/** The same pods (same UIDs) as at the start, their app containers never restarted. */
export async function expectNoRestart(core: CoreV1Api, pods: readonly V1Pod[]): Promise<void> {
  for (const pod of pods) {
    const now = await core.readNamespacedPod({
      namespace: pod.metadata?.namespace ?? '',
      name: podName(pod),
    });
    expect(now.metadata?.uid).toBe(pod.metadata?.uid);
    const app = now.status?.containerStatuses?.find((c) => c.name === 'app');
    expect(app?.restartCount, `${podName(pod)} restarted: ${JSON.stringify(app?.lastState)}`).toBe(0);
  }
}
