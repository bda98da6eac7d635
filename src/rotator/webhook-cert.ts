import type { Config } from '../config/schema.js';
import { CA_FILE, CERT_FILE, KEY_FILE, MANAGED_LABEL } from '../core/names.js';
import { type SecretApi, type SecretObject, type WebhookConfigApi } from '../kube/types.js';
import type { Log } from './controller.js';
import type { CertOps } from './ports.js';
import { tlsData } from '../model/workload-secret.js';
import { secretFile } from '../model/secret-data.js';

/** Label that marks the webhook's serving-certificate Secret among the managed ones. */
export const ROLE_LABEL = 'mtls-injector.io/role';

/** DNS SANs of the webhook's serving certificate: the Service's names, plus configured extras. */
export function webhookDnsNames(config: Config): string[] {
  const svc = config.webhook.serviceName;
  const ns = config.installNamespace;
  const extra = config.webhook.extraDnsNames === '' ? [] : config.webhook.extraDnsNames.split(',');
  return [
    ...new Set([
      svc,
      `${svc}.${ns}`,
      `${svc}.${ns}.svc`,
      `${svc}.${ns}.svc.${config.clusterDomain}`,
      ...extra,
    ]),
  ];
}

/**
 * Keeps the webhook's serving certificate fresh in its Secret (mounted by the webhook pods, hot-reloaded),
 * and the caBundle of our MutatingWebhookConfiguration equal to the trust bundle, so during a CA rotation
 * the API server trusts serving certificates from the old and the new CA (BAD-INPUTS H1).
 */
export function createWebhookCertStep(deps: {
  readonly config: Config;
  readonly secrets: SecretApi;
  readonly webhookConfig: WebhookConfigApi;
  readonly certs: CertOps;
  readonly log: Log;
  readonly clock: () => number;
  readonly isDue: () => boolean;
  readonly throttle: () => Promise<void>;
  readonly written: (secret: SecretObject) => void;
}): () => Promise<void> {
  const { config, secrets, certs, log } = deps;
  const ns = config.installNamespace;
  const name = config.webhook.tlsSecretName;
  const dnsNames = webhookDnsNames(config);

  const issue = async (existing: SecretObject | undefined, why: string): Promise<void> => {
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
      },
      type: 'kubernetes.io/tls',
      data: tlsData(issued.certPem, issued.keyPem, certs.trustBundle()),
    };
    await deps.throttle();
    deps.written(existing === undefined ? await secrets.create(secret) : await secrets.replace(secret));
    log.info(
      { secret: `${ns}/${name}`, reason: why, notAfter: issued.notAfter.toISOString(), dnsNames },
      'webhook serving certificate written',
    );
  };

  return async () => {
    const existing = await secrets.get(ns, name);
    if (existing === undefined) {
      // A 409 here means another writer created it: the work queue retries, reads it and judges it.
      await issue(undefined, 'missing');
    } else {
      const why = judgeServing(existing, dnsNames, certs, deps.clock(), deps.isDue());
      if (why === 'bundle') {
        await deps.throttle();
        deps.written(
          await secrets.replace({
            ...existing,
            data: { ...(existing.data ?? {}), ...pick(tlsData('', '', certs.trustBundle()), CA_FILE) },
          }),
        );
      } else if (why !== undefined) {
        await issue(existing, why);
      }
    }
    await syncCaBundle(deps.webhookConfig, config.webhook.configurationName, certs.trustBundle(), log);
  };
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

async function syncCaBundle(api: WebhookConfigApi, name: string, bundlePem: string, log: Log): Promise<void> {
  const current = await api.getCaBundles(name);
  if (current === undefined) {
    log.warn(
      { webhookConfiguration: name },
      'MutatingWebhookConfiguration not found; caBundle will be set when it exists',
    );
    return;
  }
  const wanted = Buffer.from(bundlePem).toString('base64');
  if (current.caBundles.length > 0 && current.caBundles.every((b) => b === wanted)) return;
  await api.setCaBundle(name, wanted, current.resourceVersion);
  log.info({ webhookConfiguration: name, entries: current.caBundles.length }, 'caBundle updated');
}

function pick(data: Record<string, string>, key: string): Record<string, string> {
  return { [key]: data[key] ?? '' };
}
