import type { Config } from '../config/schema.js';
import { CA_FILE, CERT_FILE, KEY_FILE, MANAGED_LABEL } from '../core/names.js';
import type { OwnerReference, SecretApi, SecretObject, WebhookConfigApi } from '../kube/types.js';
import { encodeFiles, secretFile } from '../model/secret-data.js';
import { tlsData } from '../model/workload-secret.js';
import type { Leadership } from './leader.js';
import type { CertOps } from './ports.js';
import type { Reporter } from './reporter.js';
import { type SecretWriter, WRITE_TIMEOUT_MS } from './secret-writer.js';
import type { Clock } from './time.js';

/** Label that marks the webhook's serving-certificate Secret among the managed ones. */
const ROLE_LABEL = 'mtls-injector.io/role';

/**
 * DNS SANs of the webhook's serving certificate: the Service's `.svc` names (the API server calls
 * `<svc>.<ns>.svc`), the short forms only with `dnsShortNames`, plus configured extras.
 */
export function webhookDnsNames(config: Config): string[] {
  const svc = config.webhook.serviceName;
  const ns = config.installNamespace;
  const extra = config.webhook.extraDnsNames === '' ? [] : config.webhook.extraDnsNames.split(',');
  return [
    ...new Set([
      ...(config.dnsShortNames ? [svc, `${svc}.${ns}`] : []),
      `${svc}.${ns}.svc`,
      `${svc}.${ns}.svc.${config.clusterDomain}`,
      ...extra,
    ]),
  ];
}

/**
 * The sync of the webhook's own work item: keeps its serving certificate fresh in its Secret (mounted by the
 * webhook pods, hot-reloaded), and the caBundle of our MutatingWebhookConfiguration equal to the trust bundle,
 * so during a CA rotation the API server trusts serving certificates from the old and the new CA (faults H1).
 * Judges from a fresh read of the Secret, then writes through the writer.
 */
export function createWebhookSync(deps: {
  readonly config: Config;
  readonly secrets: Pick<SecretApi, 'get'>;
  readonly webhookConfig: WebhookConfigApi;
  readonly certs: CertOps;
  readonly writer: Pick<SecretWriter, 'create' | 'replace'>;
  readonly reporter: Pick<
    Reporter,
    'servingCertificateWritten' | 'caBundleUpdated' | 'webhookConfigurationMissing'
  >;
  readonly clock: Clock;
  /** Whether the serving certificate's renewal time has come. */
  readonly isDue: () => boolean;
  /** The caBundle write gets a deadline before the end of this replica's leadership. */
  readonly leadership: Pick<Leadership, 'validUntil'>;
}): () => Promise<void> {
  const { config, secrets, certs, writer, reporter } = deps;
  const ns = config.installNamespace;
  const name = config.webhook.tlsSecretName;
  const dnsNames = webhookDnsNames(config);

  const issue = async (
    existing: SecretObject | undefined,
    why: string,
    owner: OwnerReference | undefined,
  ): Promise<void> => {
    const issued = await certs.issue({ dnsNames });
    const secret: SecretObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name,
        namespace: ns,
        ...(existing?.metadata.resourceVersion === undefined
          ? {}
          : { resourceVersion: existing.metadata.resourceVersion }),
        labels: {
          ...(existing?.metadata.labels ?? {}),
          [MANAGED_LABEL]: 'true',
          [ROLE_LABEL]: 'webhook-serving',
        },
        ...ownedBy(existing, owner),
      },
      type: 'kubernetes.io/tls',
      data: tlsData(issued.certPem, issued.keyPem, certs.trustBundle()),
    };
    if (existing === undefined) {
      // A 409 here means another writer created it: the work queue retries, reads it and judges it.
      const result = await writer.create(secret);
      if ('exists' in result) throw result.conflict;
    } else {
      await writer.replace(secret);
    }
    reporter.servingCertificateWritten(`${ns}/${name}`, why, issued.notAfter, dnsNames);
  };

  return async () => {
    const configuration = await deps.webhookConfig.getCaBundles(config.webhook.configurationName);
    const owner = configuration === undefined ? undefined : webhookConfigOwner(config, configuration.uid);
    const existing = await secrets.get(ns, name);
    if (existing === undefined) {
      // Only with its owner: without the configuration nothing calls the webhook, and a Secret made now would
      // outlive an uninstall (the chart's pre-delete hook deletes the configuration while this still runs, and
      // the garbage collector has just deleted the Secret it owned).
      if (owner === undefined) return;
      await issue(undefined, 'missing', owner);
    } else {
      const why = judgeServing(existing, dnsNames, certs, deps.clock(), deps.isDue());
      if (why === 'bundle' || (why === undefined && !isOwned(existing, owner))) {
        const data = { ...(existing.data ?? {}), ...encodeFiles({ [CA_FILE]: certs.trustBundle() }) };
        const metadata = { ...existing.metadata, ...ownedBy(existing, owner) };
        await writer.replace({ ...existing, metadata, data });
      } else if (why !== undefined) {
        await issue(existing, why, owner);
      }
    }
    const timeoutMs = Math.min(WRITE_TIMEOUT_MS, deps.leadership.validUntil() - deps.clock());
    if (timeoutMs <= 0) return; // no longer leading: the next leader sets it
    await syncCaBundle(
      deps.webhookConfig,
      config.webhook.configurationName,
      certs.trustBundle(),
      reporter,
      timeoutMs,
    );
  };
}

/**
 * The MutatingWebhookConfiguration owns the serving certificate's Secret, so `helm uninstall` (which deletes
 * the configuration first) leaves no serving certificate behind: the garbage collector deletes it. A
 * namespaced object may have a cluster-scoped owner.
 */
function webhookConfigOwner(config: Config, uid: string): OwnerReference | undefined {
  if (uid === '') return undefined;
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    name: config.webhook.configurationName,
    uid,
  };
}

function isOwned(secret: SecretObject, owner: OwnerReference | undefined): boolean {
  return owner === undefined || (secret.metadata.ownerReferences ?? []).some((o) => o.uid === owner.uid);
}

/** `ownerReferences` with `owner` in place of any earlier configuration's (others kept); nothing without one. */
function ownedBy(
  existing: SecretObject | undefined,
  owner: OwnerReference | undefined,
): { ownerReferences?: OwnerReference[] } {
  const others = (existing?.metadata.ownerReferences ?? []).filter(
    (o) => o.kind !== 'MutatingWebhookConfiguration',
  );
  if (owner === undefined) return others.length > 0 ? { ownerReferences: others } : {};
  return { ownerReferences: [...others, owner] };
}

/** Why the serving certificate must be rewritten, 'bundle' when only ca.crt is stale, or undefined. */
function judgeServing(
  secret: SecretObject,
  dnsNames: readonly string[],
  certs: CertOps,
  now: number,
  due: boolean,
): string | undefined {
  const certPem = secretFile(secret, CERT_FILE);
  const keyPem = secretFile(secret, KEY_FILE);
  if (certPem === undefined || keyPem === undefined) return 'missing_files';
  const problems = certs.check({
    certPem,
    keyPem,
    bundlePem: certs.trustBundle(),
    now: new Date(now),
    requireSpiffeId: false,
  });
  if (problems[0] !== undefined) return problems[0].code;
  const facts = certs.inspect(certPem);
  if (!('notAfter' in facts)) return facts.code;
  if ([...facts.dnsNames].sort().join(',') !== [...dnsNames].sort().join(',')) return 'dns_names_changed';
  if (facts.issuerKeyId !== certs.activeIssuerKeyId()) return 'issuer_rotated';
  if (due) return 'due';
  if (secretFile(secret, CA_FILE) !== certs.trustBundle()) return 'bundle';
  return undefined;
}

async function syncCaBundle(
  api: WebhookConfigApi,
  name: string,
  bundlePem: string,
  reporter: Pick<Reporter, 'caBundleUpdated' | 'webhookConfigurationMissing'>,
  timeoutMs: number,
): Promise<void> {
  const current = await api.getCaBundles(name, { timeoutMs });
  if (current === undefined) {
    reporter.webhookConfigurationMissing(name);
    return;
  }
  const wanted = Buffer.from(bundlePem).toString('base64');
  if (current.caBundles.length > 0 && current.caBundles.every((b) => b === wanted)) return;
  await api.setCaBundle(name, wanted, current.resourceVersion, { timeoutMs });
  reporter.caBundleUpdated(name, current.caBundles.length);
}
