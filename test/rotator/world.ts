/**
 * Everything startRotator talks to, in memory, with a fake clock driving every loop: one API server (Secret
 * store, Lease, webhook configuration, workloads, and watched collections) shared by any number of rotators.
 * Each rotator reaches the Secret, Lease and webhook-configuration APIs through its own connection, which a
 * test can make half-open (`Stallable`).
 */
import { request } from 'node:http';
import { loadConfig } from '../../src/config/loader.js';
import type { Config } from '../../src/config/schema.js';
import { MANAGED_LABEL, OPT_IN_LABEL } from '../../src/core/names.js';
import type {
  ClusterWatches,
  LeaseApi,
  NamespaceObject,
  PodObject,
  SecretApi,
  SecretObject,
  ServiceObject,
  WebhookConfigApi,
} from '../../src/kube/types.js';
import type { PodCertificateDeps } from '../../src/rotator/signer/assemble.js';
import { type RunningRotator, startRotator } from '../../src/rotator/start.js';
import { FakeClock, seededRandom, settleMicrotasks } from '../fakes/clock.js';
import { FakeConfigMapApi } from '../fakes/configmaps.js';
import { FakeEvents, FakeLeaseApi, FakeSecretApi, FakeWebhookConfig } from '../fakes/kube.js';
import { memoryLog } from '../fakes/log.js';
import { Stallable } from '../fakes/stall.js';
import { FakeCollection } from '../fakes/watch.js';
import { FakeWorkloadApi } from '../fakes/workloads.js';

/** Rotators started by the current test; `stopAll` (afterEach) stops them. */
export const running: RunningRotator[] = [];

/** Stops every rotator the test started. */
export async function stopAll(): Promise<void> {
  for (const r of running.splice(0)) await r.stop();
}

/** A Namespace with labels. */
export function namespace(name: string, labels: Record<string, string> = {}): NamespaceObject {
  return { metadata: { name, labels } };
}

/** One rotator's connection to the API server: stall it, resume it, see what reached the server. */
export interface Link {
  stall(): void;
  resume(): void;
  /** Writes (create, replace, setCaBundle) that reached the API server, with when. */
  writes(): { readonly method: string; readonly at: number }[];
}

/** The in-memory cluster, and a way to start rotators against it. */
export function world(flags: Record<string, string> = {}) {
  const loaded = loadConfig({ flags: { leafLifetime: '1h', backdate: '60s', ...flags } });
  const config: Config = { ...loaded, rotator: { ...loaded.rotator, probePort: 0 } };
  const clock = new FakeClock();
  const secrets = new FakeSecretApi();
  const leases = new FakeLeaseApi();
  const events = new FakeEvents();
  const webhookConfig = new FakeWebhookConfig();
  const configMaps = new FakeConfigMapApi();
  const workloads = new FakeWorkloadApi();
  const log = memoryLog();
  const cluster = {
    pods: new FakeCollection<PodObject>(),
    secrets: new FakeCollection<SecretObject>(),
    services: new FakeCollection<ServiceObject>(),
    namespaces: new FakeCollection<NamespaceObject>([namespace('shop', { [OPT_IN_LABEL]: 'enabled' })]),
  };
  // The store plays the API server behind the Secret watch: every write reaches the watch.
  secrets.watchers.push({
    upsert: (s) => {
      if (s.metadata.labels?.[MANAGED_LABEL] === 'true') cluster.secrets.put(s);
    },
    remove: (s) => cluster.secrets.delete(s),
  });
  const enqueued: string[] = [];
  const cancelled: string[] = [];
  const links = new Map<string, Link>();
  const start = async (
    identity = 'rotator-a',
    options: { watches?: Partial<ClusterWatches>; podCertificates?: PodCertificateDeps } = {},
  ): Promise<RunningRotator> => {
    const secretLink = new Stallable<SecretApi>(secrets, clock);
    const leaseLink = new Stallable<LeaseApi>(leases, clock);
    const webhookLink = new Stallable<WebhookConfigApi>(webhookConfig, clock);
    const all = [secretLink, leaseLink, webhookLink];
    links.set(identity, {
      stall: () => all.forEach((l) => l.stall()),
      resume: () => all.forEach((l) => l.resume()),
      writes: () =>
        all
          .flatMap((l) => l.delivered)
          .filter((d) => ['create', 'replace', 'setCaBundle', 'delete'].includes(d.method)),
    });
    const rotator = await startRotator(config, {
      secrets: secretLink.api,
      leases: leaseLink.api,
      events,
      webhookConfig: webhookLink.api,
      configMaps,
      workloads,
      pods: {
        getPod: (ns, name) =>
          Promise.resolve(
            cluster.pods.list().find((p) => p.metadata.namespace === ns && p.metadata.name === name),
          ),
      },
      watches: {
        pods: cluster.pods.watch(),
        secrets: cluster.secrets.watch(),
        services: cluster.services.watch(),
        namespaces: cluster.namespaces.watch(),
        ...options.watches,
      },
      identity,
      log,
      probeHost: '127.0.0.1',
      onboarder: { enqueue: (ns) => enqueued.push(ns), cancel: () => cancelled.push(identity) },
      podCertificates: options.podCertificates,
      clock: clock.read,
      timers: clock,
      sleep: clock.sleep,
      random: seededRandom(3),
    });
    running.push(rotator);
    await settleMicrotasks();
    return rotator;
  };
  const link = (identity: string): Link => {
    const found = links.get(identity);
    if (found === undefined) throw new Error(`no rotator ${identity}`);
    return found;
  };
  /** The timers and randomness of the product's own list-then-watch loop, on the fake clock. */
  const loopTime = {
    now: clock.read,
    setTimeout: (fn: () => void, ms: number) => clock.setTimeout(fn, ms),
    clearTimeout: (h: unknown) => clock.clearTimeout(h as object),
    random: seededRandom(5),
  };
  return {
    loopTime,
    config,
    clock,
    secrets,
    leases,
    events,
    webhookConfig,
    configMaps,
    workloads,
    log,
    cluster,
    enqueued,
    cancelled,
    start,
    link,
  };
}

/** GET on the probe server. */
export function get(port: number, path: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    })
      .on('error', reject)
      .end();
  });
}
