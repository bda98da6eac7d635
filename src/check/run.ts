/**
 * Over 300 lines: runCheck is the one place `check` is assembled (the installation, the CA, the revocation
 * record, the delivery facts, then a namespace's pods); its reads and the report they build read as one story.
 */
import type { Mode } from '../core/policy/decide.js';
import type { InjectionSettings } from '../core/policy/settings.js';
import { CA_FILE, MANAGED_LABEL } from '../core/names.js';
import {
  apiStatus,
  type ConfigMapApi,
  type PodCertificateRequestObject,
  type PodObject,
  type SecretApi,
} from '../kube/types.js';
import { checkDelivery } from './pod-certificate.js';
import { crlLookup, requestLookup } from './requests.js';
import type { InspectApi, NamespaceObject } from '../kube/types.js';
import type { PodRevocation } from '../model/pod-revocations.js';
import type { RevocationEntry } from '../model/revocations.js';
import { isLive } from '../model/pods.js';
import { namespaceMode } from '../model/selection.js';
import { findLostOptIn } from '../model/drift.js';
import { secretFile } from '../model/secret-data.js';
import { readTrustBundleConfigMap } from '../model/trust-bundle.js';
import { checkCa, checkTrustBundle } from './ca.js';
import { checkEndpoints, checkServingCertificate, checkWebhookConfiguration } from './cluster.js';
import { checkNamespace, lostOptInResult } from './namespace.js';
import { checkPod, type PodReport } from './pod.js';
import { apiFailure, type CheckResult, fail, pass, tally } from './result.js';
import { checkRevocationRecord, readRevocationLookup } from './revocation.js';
import { secretLookups } from './secrets.js';

/** `mtls-injector check -o json` prints exactly this object (docs/check.md documents every field). */
export interface CheckReport {
  readonly schemaVersion: 1;
  /** True when no check failed (no error and no warning). */
  readonly ok: boolean;
  readonly generatedAt: string;
  readonly summary: { readonly passed: number; readonly warnings: number; readonly errors: number };
  readonly cluster: readonly CheckResult[];
  readonly namespace: NamespaceReport | null;
}

/** The `namespace` part of the report: the namespace checks and each pod. */
export interface NamespaceReport {
  readonly name: string;
  readonly mode: Mode | null;
  readonly checks: readonly CheckResult[];
  readonly pods: readonly PodReport[];
}

/** What to check: where the product is installed, its names and settings, and which namespace or pod. */
export interface CheckOptions {
  readonly installNamespace: string;
  readonly webhookConfigurationName: string;
  readonly webhookTlsSecretName: string;
  readonly caSecretName: string;
  /** The trust-bundle ConfigMap the rotator publishes (read instead of the CA Secret, which holds the key). */
  readonly trustBundleConfigMap: string;
  readonly caMinValidDays: number;
  readonly settings: InjectionSettings;
  readonly excludedNamespaces: readonly string[];
  /** Check this namespace's pods too. */
  readonly namespace?: string | undefined;
  /** Only this pod of `namespace`. */
  readonly pod?: string | undefined;
  /** The ConfigMap (in installNamespace) where the rotator publishes the delivery facts. */
  readonly deliveryFactsConfigMap?: string | undefined;
}

/** The API reads `check` makes, and the time it judges validity at. */
export interface CheckDeps {
  readonly inspect: InspectApi;
  readonly secrets: Pick<SecretApi, 'get'>;
  /** Reads the revocation record in the install namespace. */
  readonly configMaps: Pick<ConfigMapApi, 'get'>;
  readonly now: Date;
  /** Pod Certificates reads: the delivery facts, and the requests of a namespace (undefined: not served). */
  readonly podCertificates?: {
    readonly getConfigMap: ConfigMapApi['get'];
    readonly listRequests:
      ((namespace: string, signerName: string) => Promise<PodCertificateRequestObject[]>) | undefined;
  };
}

/** Exit status: 0 when every check passed, 1 on any error, 3 when there are only warnings. */
export function checkExitCode(report: CheckReport): number {
  if (report.summary.errors > 0) return 1;
  if (report.summary.warnings > 0) return 3;
  return 0;
}

type Read<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly result: CheckResult };

async function read<T>(name: string, what: string, fn: () => Promise<T>): Promise<Read<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    return { ok: false, result: apiFailure(name, what, err, apiStatus(err)) };
  }
}

/**
 * Runs every check: the webhook configuration, its serving certificate and endpoints, the CA, and with a
 * namespace each pod (or one pod). A failed API read becomes a failed check; nothing here throws for an API
 * problem, so one unreadable object never hides the other answers.
 */
export async function runCheck(deps: CheckDeps, options: CheckOptions): Promise<CheckReport> {
  const cluster: CheckResult[] = [];
  const install = options.installNamespace;

  const config = await read(
    'webhook-configuration',
    `MutatingWebhookConfiguration ${options.webhookConfigurationName}`,
    () => deps.inspect.getWebhookConfiguration(options.webhookConfigurationName),
  );
  if (!config.ok) cluster.push(config.result);
  else {
    cluster.push(...checkWebhookConfiguration(options.webhookConfigurationName, config.value));
    if (config.value !== undefined) {
      const where = `${install}/${options.webhookTlsSecretName}`;
      const serving = await read('webhook-serving-cert', `Secret ${where}`, () =>
        deps.secrets.get(install, options.webhookTlsSecretName),
      );
      if (serving.ok) cluster.push(...checkServingCertificate(config.value, serving.value, where, deps.now));
      else cluster.push(serving.result);
      cluster.push(await endpointsCheck(deps.inspect, config.value));
    }
  }

  // Delivery: what the rotator published decides delivery.mode=auto for the pods judged below.
  let settings = options.settings;
  if (deps.podCertificates !== undefined) {
    const name = options.deliveryFactsConfigMap ?? 'mtls-injector-delivery';
    const where = `${install}/${name}`;
    const cm = await read(
      'delivery',
      `ConfigMap ${where}`,
      () => deps.podCertificates?.getConfigMap(install, name) ?? Promise.resolve(undefined),
    );
    if (!cm.ok) cluster.push(cm.result);
    else {
      const delivery = checkDelivery(settings.delivery.mode, cm.value, where);
      cluster.push(delivery.result);
      settings = { ...settings, delivery: { ...settings.delivery, facts: delivery.facts } };
    }
  }

  const { result: caResult, bundlePem: clusterBundlePem } = await caCheck(deps, options);
  cluster.push(caResult);
  const record = await readRevocationLookup(deps.configMaps, install);
  cluster.push(checkRevocationRecord(record, install, deps.now));
  const revocations = record.kind === 'read' ? record.entries : undefined;
  const revokedPods = record.kind === 'read' ? record.pods : undefined;

  let namespace: NamespaceReport | null = null;
  if (options.namespace !== undefined) {
    namespace = await namespaceReport(
      deps,
      { ...options, settings },
      options.namespace,
      clusterBundlePem,
      revocations,
      revokedPods,
    );
  } else {
    cluster.push(...(await lostOptInChecks(deps.inspect)));
  }

  const all = [...cluster, ...(namespace?.checks ?? []), ...(namespace?.pods.flatMap((p) => p.checks) ?? [])];
  const summary = tally(all);
  return {
    schemaVersion: 1,
    ok: summary.errors === 0 && summary.warnings === 0,
    generatedAt: deps.now.toISOString(),
    summary,
    cluster,
    namespace,
  };
}

/**
 * `ca` and the cluster's trust bundle: from the trust-bundle ConfigMap the rotator publishes, which holds no
 * key. Only when it does not exist (a rotator that predates it, or one that has not run) from the CA Secret.
 */
async function caCheck(
  deps: CheckDeps,
  options: CheckOptions,
): Promise<{ result: CheckResult; bundlePem: string | undefined }> {
  const install = options.installNamespace;
  const bundleWhere = `${install}/${options.trustBundleConfigMap}`;
  const cm = await read('ca', `ConfigMap ${bundleWhere}`, () =>
    deps.inspect.getConfigMap(install, options.trustBundleConfigMap),
  );
  if (cm.ok && cm.value !== undefined) {
    const bundle = readTrustBundleConfigMap(cm.value);
    return {
      result: checkTrustBundle(bundle, bundleWhere, deps.now, options.caMinValidDays),
      bundlePem: bundle.bundlePem === '' ? undefined : bundle.bundlePem,
    };
  }
  const caWhere = `${install}/${options.caSecretName}`;
  const ca = await read('ca', `CA Secret ${caWhere}`, () => deps.secrets.get(install, options.caSecretName));
  return {
    result: ca.ok ? checkCa(ca.value, caWhere, deps.now, options.caMinValidDays) : ca.result,
    bundlePem: ca.ok && ca.value !== undefined ? secretFile(ca.value, CA_FILE) : undefined,
  };
}

async function endpointsCheck(
  inspect: InspectApi,
  config: Parameters<typeof checkEndpoints>[0],
): Promise<CheckResult> {
  const ref = config.webhooks.find((w) => w.service !== undefined)?.service;
  if (ref === undefined) return checkEndpoints(config, undefined, undefined);
  const what = `Service ${ref.namespace}/${ref.name}`;
  const service = await read('webhook-endpoints', what, () => inspect.getService(ref.namespace, ref.name));
  if (!service.ok) return service.result;
  if (service.value === undefined) return checkEndpoints(config, undefined, undefined);
  const endpoints = await read('webhook-endpoints', `endpoints of ${what}`, () =>
    inspect.serviceEndpoints(ref.namespace, ref.name),
  );
  return endpoints.ok ? checkEndpoints(config, service.value, endpoints.value) : endpoints.result;
}

/** Without -n: namespaces that lost the label while injected pods run there, cluster-wide (G5). */
async function lostOptInChecks(inspect: InspectApi): Promise<CheckResult[]> {
  const pods = await read('lost-opt-in', 'injected pods', () =>
    inspect.listPodsAllNamespaces(`${MANAGED_LABEL}=true`),
  );
  if (!pods.ok) return [pods.result];
  const names = [...new Set(pods.value.map((p) => p.metadata.namespace ?? ''))].sort();
  const namespaces: { name: string; labels: Readonly<Record<string, string>> | undefined }[] = [];
  for (const name of names) {
    const ns = await read('lost-opt-in', `namespace ${name}`, () => inspect.getNamespace(name));
    if (!ns.ok) return [ns.result];
    if (ns.value !== undefined) namespaces.push({ name, labels: ns.value.metadata.labels });
  }
  const lost = findLostOptIn(namespaces, pods.value);
  if (lost.length === 0) {
    return [
      pass(
        'lost-opt-in',
        'no_lost_opt_in',
        `${pods.value.length} injected pod(s) in ${names.length} namespace(s), none of them in a namespace that lost its opt-in`,
      ),
    ];
  }
  return lost.map((l) => lostOptInResult('lost-opt-in', l));
}

async function namespaceReport(
  deps: CheckDeps,
  options: CheckOptions,
  name: string,
  clusterBundlePem: string | undefined,
  revocations: readonly RevocationEntry[] | undefined,
  revokedPods: readonly PodRevocation[] | undefined,
): Promise<NamespaceReport> {
  const ns = await read('namespace', `namespace ${name}`, () => deps.inspect.getNamespace(name));
  const nsObject: NamespaceObject | undefined = ns.ok ? ns.value : undefined;
  const labels = nsObject?.metadata.labels;
  const mode = namespaceMode(labels) ?? null;

  let pods: PodObject[];
  let everyPod: PodObject[] = [];
  const podChecks: CheckResult[] = [];
  if (options.pod !== undefined) {
    const podName = options.pod;
    const one = await read('pod', `pod ${name}/${podName}`, () => deps.inspect.getPod(name, podName));
    if (!one.ok) podChecks.push(one.result);
    else if (one.value === undefined) {
      podChecks.push(
        fail(
          'pod',
          'error',
          'pod_missing',
          `pod ${name}/${podName} not found`,
          `kubectl -n ${name} get pods`,
        ),
      );
    }
    pods = one.ok && one.value !== undefined ? [one.value] : [];
  } else {
    const all = await read('pods', `pods in ${name}`, () => deps.inspect.listPods(name));
    if (!all.ok) podChecks.push(all.result);
    everyPod = all.ok ? all.value : [];
    pods = everyPod.filter(isLive);
  }

  // The G5 judgement and collisions need every pod of the namespace, not only the one asked about.
  const context = options.pod === undefined ? everyPod : await deps.inspect.listPods(name).catch(() => pods);
  const uids = new Set(context.map((p) => p.metadata.uid));
  const checks: CheckResult[] = [];
  if (!ns.ok) checks.push(ns.result);
  else checks.push(checkNamespace(name, nsObject, context.filter(isLive), options.excludedNamespaces));
  checks.push(...podChecks);

  const lookups = await secretLookups(deps, name, pods, options.pod === undefined);
  const { signerName, trustBundleConfigMap } = options.settings.delivery;
  const requests = await requestLookup(deps, name, signerName, pods);
  const crl = await crlLookup(deps, name, trustBundleConfigMap, signerName, pods);
  const reports = pods
    .map((pod, i) =>
      checkPod({
        pod,
        namespace: name,
        namespaceLabels: labels,
        settings: options.settings,
        excludedNamespaces: options.excludedNamespaces,
        secret: lookups[i] ?? { kind: 'unread' },
        requests,
        crl,
        clusterBundlePem,
        revocations,
        revokedPods,
        podExists: (uid) => uids.has(uid),
        now: deps.now,
      }),
    )
    .sort((a, b) => a.name.localeCompare(b.name));
  return { name, mode, checks, pods: reports };
}
