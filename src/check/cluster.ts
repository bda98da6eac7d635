import { CERT_FILE, KEY_FILE } from '../core/names.js';
import type { SecretObject, ServiceObject } from '../kube/types.js';
import type { EndpointSummary, WebhookConfigurationObject, WebhookEntry } from '../kube/types.js';
import { verifyLeaf } from '../pki/verify.js';
import { coversHost } from '../pki/x509.js';
import { WEBHOOK_ENTRIES } from '../model/selection.js';
import { secretFile } from '../model/secret-data.js';
import { type CheckResult, fail, humanDuration, pass } from './result.js';

/** The entries the chart ships, each with the path that tells the webhook the namespace's mode and delivery. */
export { WEBHOOK_ENTRIES };

const INSTALL_HINT =
  'install it: helm install mtls-injector charts/mtls-injector (or kubectl apply -f manifests/)';

/** `webhook-configuration` and `webhook-entries`: it exists, with every entry the chart ships routed to its path. */
export function checkWebhookConfiguration(
  name: string,
  config: WebhookConfigurationObject | undefined,
): CheckResult[] {
  if (config === undefined) {
    return [
      fail(
        'webhook-configuration',
        'error',
        'webhook_configuration_missing',
        `MutatingWebhookConfiguration ${name} not found; no pod is injected`,
        `${INSTALL_HINT}; or pass --webhook-configuration-name if it has another name`,
      ),
    ];
  }
  const results = [
    pass(
      'webhook-configuration',
      'webhook_configuration_found',
      `MutatingWebhookConfiguration ${name} exists with ${config.webhooks.length} entries`,
    ),
  ];
  const problems: string[] = [];
  for (const expected of WEBHOOK_ENTRIES) {
    const entry = config.webhooks.find((w) => w.name === expected.name);
    if (entry === undefined) {
      problems.push(`entry ${expected.name} is missing`);
      continue;
    }
    const path = entry.service?.path ?? (entry.url === undefined ? undefined : urlPath(entry.url));
    if (path !== expected.path) {
      problems.push(`entry ${expected.name} calls path ${path ?? '(none)'}; expected ${expected.path}`);
    }
  }
  const services = new Set(config.webhooks.filter((w) => w.service).map((w) => serviceKey(w)));
  if (services.size > 1) problems.push(`entries call different Services (${[...services].join(', ')})`);
  results.push(
    problems.length === 0
      ? pass(
          'webhook-entries',
          'webhook_entries_ok',
          `all ${WEBHOOK_ENTRIES.length} entries (enabled, strict, pod × the delivery label) call ${describeTarget(config.webhooks[0])} at their paths`,
        )
      : fail(
          'webhook-entries',
          'error',
          'webhook_entries_wrong',
          `MutatingWebhookConfiguration ${name}: ${problems.join('; ')}`,
          'the configuration is edited or from another release: re-apply the chart',
        ),
  );
  return results;
}

/**
 * `webhook-ca-bundle` and `webhook-serving-cert`: every entry's caBundle holds the CA that issued the serving
 * certificate in `servingSecret` (verifyLeaf, no SPIFFE ID required), and that certificate is valid, matches
 * its key, and names the host the API server calls.
 */
export function checkServingCertificate(
  config: WebhookConfigurationObject,
  servingSecret: SecretObject | undefined,
  secretWhere: string,
  now: Date,
): CheckResult[] {
  if (servingSecret === undefined) {
    return [
      fail(
        'webhook-serving-cert',
        'error',
        'serving_secret_missing',
        `Secret ${secretWhere} with the webhook's serving certificate not found; the webhook cannot serve TLS`,
        'the rotator writes it on start: is the rotator running and leading? (or pass --webhook-tls-secret-name)',
      ),
    ];
  }
  const certChainPem = secretFile(servingSecret, CERT_FILE) ?? '';
  const keyPem = secretFile(servingSecret, KEY_FILE);
  const results: CheckResult[] = [];

  const bundles = new Map<string, string[]>();
  for (const entry of config.webhooks)
    bundles.set(entry.caBundle, [...(bundles.get(entry.caBundle) ?? []), entry.name]);
  const bundleProblems: string[] = [];
  for (const [bundle, entries] of bundles) {
    const pem = Buffer.from(bundle, 'base64').toString('utf8');
    if (bundle === '' || !pem.includes('BEGIN CERTIFICATE')) {
      bundleProblems.push(`entries ${entries.join(', ')} have no caBundle`);
      continue;
    }
    const verdict = verifyLeaf({ certChainPem, trustBundlePem: pem, now, requireSpiffeId: false });
    const untrusted = verdict.problems.filter((p) => p.code === 'untrusted' || p.code === 'bad_pem');
    if (untrusted.length > 0) {
      bundleProblems.push(
        `the caBundle of ${entries.join(', ')} does not hold the serving certificate's CA (${untrusted.map((p) => p.message).join('; ')})`,
      );
    }
  }
  results.push(
    bundleProblems.length === 0
      ? pass(
          'webhook-ca-bundle',
          'ca_bundle_matches',
          `every caBundle holds the CA that issued the serving certificate in ${secretWhere}`,
        )
      : fail(
          'webhook-ca-bundle',
          'error',
          'ca_bundle_mismatch',
          bundleProblems.join('; '),
          'the API server cannot call the webhook over TLS; the rotator patches the caBundle: is it running and leading?',
        ),
  );

  const own = verifyLeaf({ certChainPem, keyPem, trustBundlePem: certChainPem, now, requireSpiffeId: false });
  const certProblems = own.problems.filter((p) => p.code !== 'untrusted' && p.code !== 'bad_usage');
  const hosts = [...new Set(config.webhooks.map(calledHost).filter((h): h is string => h !== undefined))];
  const unnamed = hosts.filter((host) => !coversHost(certChainPem, host));
  if (unnamed.length > 0) {
    certProblems.push({
      code: 'wrong_identity',
      message: `the serving certificate does not name ${unnamed.join(', ')}, the host the API server calls`,
    });
  }
  const leaf = own.leaf;
  results.push(
    certProblems.length === 0 && leaf !== undefined
      ? pass(
          'webhook-serving-cert',
          'serving_cert_valid',
          `serving certificate for ${hosts.join(', ') || leaf.dnsNames.join(', ')} valid until ${leaf.notAfter.toISOString()} (${humanDuration(leaf.notAfter.getTime() - now.getTime())})`,
        )
      : fail(
          'webhook-serving-cert',
          'error',
          `serving_cert_${certProblems[0]?.code ?? 'no_certificate'}`,
          `Secret ${secretWhere}: ${certProblems.map((p) => p.message).join('; ')}`,
          'the rotator renews it: check the rotator logs; the webhook reloads the file when it changes',
        ),
  );
  return results;
}

/** `webhook-endpoints`: the webhook's Service exists and has at least one ready address. */
export function checkEndpoints(
  config: WebhookConfigurationObject,
  service: ServiceObject | undefined,
  endpoints: EndpointSummary | undefined,
): CheckResult {
  const entry = config.webhooks.find((w) => w.service !== undefined);
  if (entry?.service === undefined) {
    const url = config.webhooks.find((w) => w.url !== undefined)?.url;
    return pass(
      'webhook-endpoints',
      'webhook_url',
      `the webhook is called by URL ${url ?? '(none)'}; no Service to check`,
    );
  }
  const key = serviceKey(entry);
  if (service === undefined) {
    return fail(
      'webhook-endpoints',
      'error',
      'service_missing',
      `Service ${key} not found; the API server cannot reach the webhook`,
      INSTALL_HINT,
    );
  }
  if (endpoints === undefined || endpoints.ready === 0) {
    return fail(
      'webhook-endpoints',
      'error',
      'no_ready_endpoints',
      `Service ${key} has no ready endpoints (${endpoints?.notReady ?? 0} not ready); pods in opted-in namespaces cannot be created while failurePolicy is Fail`,
      `kubectl -n ${entry.service.namespace} get pods,endpointslices -l app.kubernetes.io/name=mtls-injector`,
    );
  }
  return pass(
    'webhook-endpoints',
    'endpoints_ready',
    `Service ${key} has ${endpoints.ready} ready endpoint(s)${endpoints.notReady > 0 ? ` and ${endpoints.notReady} not ready` : ''} (${endpoints.source})`,
  );
}

function serviceKey(entry: WebhookEntry): string {
  return `${entry.service?.namespace ?? ''}/${entry.service?.name ?? ''}`;
}

function describeTarget(entry: WebhookEntry | undefined): string {
  if (entry?.service !== undefined) return `Service ${serviceKey(entry)}`;
  return `URL ${entry?.url ?? '(none)'}`;
}

function urlPath(url: string): string | undefined {
  try {
    return new URL(url).pathname;
  } catch {
    return undefined;
  }
}

/** The host name the API server verifies: `<svc>.<ns>.svc` for a Service, the URL's host otherwise. */
function calledHost(entry: WebhookEntry): string | undefined {
  if (entry.service !== undefined) return `${entry.service.name}.${entry.service.namespace}.svc`;
  if (entry.url === undefined) return undefined;
  try {
    return new URL(entry.url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return undefined;
  }
}
