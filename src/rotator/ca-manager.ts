import type { Config } from '../config/schema.js';
import { ErrorCode, InjectorError } from '../core/errors.js';
import { apiStatus, type SecretApi, type SecretObject } from '../kube/types.js';
import { generateRootCa } from '../pki/ca.js';
import type { PermittedNames } from '../pki/certificate.js';
import { type CaMaterial, newCaSecret, readCaSecret } from '../model/ca-secret.js';
import type { Leadership } from './leader.js';
import { WRITE_TIMEOUT_MS } from './secret-writer.js';

/** The CA Secret is gone while workload Secrets issued from it exist: what `caLost()` answers. */
export interface CaLoss {
  /** Workload Secrets that exist (each trusts the lost CA's bundle). */
  readonly workloadSecrets: number;
  /** What happened and what to do, for the Event, the log and /readyz. */
  readonly message: string;
}

/**
 * What a generated root may certify with `ca.nameConstraints`: DNS names under `svc` and
 * `svc.<clusterDomain>` (every name a workload or the webhook gets without `dnsShortNames`), the webhook's
 * extra DNS names, and SPIFFE URIs of the trust domain. Undefined when the setting is off.
 */
export function permittedNamesOf(
  config: Pick<Config, 'ca' | 'clusterDomain' | 'trustDomain' | 'webhook'>,
): PermittedNames | undefined {
  if (!config.ca.nameConstraints) return undefined;
  const extra = config.webhook.extraDnsNames === '' ? [] : config.webhook.extraDnsNames.split(',');
  return {
    dnsNames: [...new Set(['svc', `svc.${config.clusterDomain}`, ...extra])],
    uriHosts: [config.trustDomain],
  };
}

/** Where the runbook for a lost CA is, named in every message about it. */
const CA_MISSING_RUNBOOK = 'docs/runbooks/ca-missing.md';

/**
 * Owns the issuing CA: on first install the leader generates it into the CA Secret (race-safe: a 409 on
 * create re-reads the winner's), or it loads a bring-your-own intermediate. `refresh()` re-reads the Secret
 * and says whether anything changed, so a rotation step taken by the CLI reaches the controller.
 *
 * A CA is generated only when none can have existed: no workload Secret exists (the Secret watch has
 * listed) and this process never loaded one. Otherwise the CA Secret was deleted, and a new root would
 * replace (not join) the trust bundle every workload holds and break mTLS across the cluster; the manager
 * refuses, keeps issuing from the CA it still holds (if any), and reports the loss (`caLost()`).
 */
export class CaManager {
  private material: CaMaterial | undefined;
  private problem: string | undefined;
  private loss: CaLoss | undefined;
  private invalid: string | undefined;

  constructor(
    private readonly deps: {
      readonly config: Config;
      readonly secrets: SecretApi;
      readonly clock: () => number;
      /** Only the leader generates; the write gets a deadline before the end of its leadership. */
      readonly leadership: Pick<Leadership, 'validUntil'>;
      /**
       * Workload Secrets (owned by a pod) the Secret watch shows, plus live pods holding a pod certificate
       * (podCertificate delivery); undefined until the watches have listed.
       */
      readonly workloadSecrets: () => number | undefined;
    },
  ) {}

  /** The loaded CA, or undefined while not ready (see `notReadyReason`). */
  current(): CaMaterial | undefined {
    return this.material;
  }

  /** Why there is no usable CA, or why it needs attention (a loss), for /readyz and logs. */
  notReadyReason(): string | undefined {
    return this.loss?.message ?? this.problem;
  }

  /** Why the CA Secret in place cannot be used (expired, key mismatch, …), undefined when it can or is absent. */
  invalidReason(): string | undefined {
    return this.invalid;
  }

  /** The CA Secret is missing while workload Secrets exist (or a CA was loaded before): a loss. */
  caLost(): CaLoss | undefined {
    return this.loss;
  }

  /**
   * Makes sure a CA exists and is loaded. Returns true when the CA or trust bundle changed since the last
   * call. A CA that cannot be used (expired, mismatched key, …) leaves the previous one in place and throws;
   * so does a lost CA Secret (MTLS_ERR_PKI_BAD_PEM, the message says what to do).
   */
  async refresh(): Promise<boolean> {
    const { config, secrets } = this.deps;
    const ns = config.installNamespace;
    const name = config.ca.secretName;
    let secret = await secrets.get(ns, name);
    if (secret === undefined) {
      if (config.ca.bringYourOwn) {
        this.problem = `CA Secret ${ns}/${name} not found and ca.bringYourOwn is set; create it with tls.crt (intermediate and chain), tls.key and ca.crt (roots)`;
        throw new InjectorError(ErrorCode.PkiBadPem, this.problem);
      }
      const count = this.deps.workloadSecrets();
      if (this.material !== undefined || (count !== undefined && count > 0)) {
        this.loss = {
          workloadSecrets: count ?? 0,
          message:
            `CA Secret ${ns}/${name} is missing while ${count ?? 'some'} workload Secret(s) or pod certificate(s) issued from it exist; ` +
            'not generating a new root CA (it would replace the trust bundle every workload holds and break mTLS ' +
            'across the cluster). Restore the CA Secret from a backup, or create a new CA whose ca.crt keeps the ' +
            `old root (the trust-bundle ConfigMap has it) and rotate: see ${CA_MISSING_RUNBOOK}`,
        };
        throw new InjectorError(ErrorCode.PkiBadPem, this.loss.message);
      }
      if (count === undefined) {
        this.problem = `CA Secret ${ns}/${name} not found; waiting for the Secret watch to list before generating one`;
        return false;
      }
      const left = this.deps.leadership.validUntil() - this.deps.clock();
      if (left <= 0) {
        this.problem = `CA Secret ${ns}/${name} not found; the leader generates it`;
        return false;
      }
      secret = await this.generate(ns, name, Math.min(WRITE_TIMEOUT_MS, left));
    }
    this.loss = undefined;
    if (this.material !== undefined && this.material.resourceVersion === secret.metadata.resourceVersion) {
      this.invalid = undefined;
      return false;
    }
    try {
      const before = this.material;
      this.material = readCaSecret(secret, new Date(this.deps.clock()));
      this.problem = undefined;
      this.invalid = undefined;
      // Annotations alone (the rotation's propagation mark) change nothing the controller uses.
      return before === undefined || !sameTrust(before, this.material);
    } catch (err) {
      this.problem = err instanceof Error ? err.message : String(err);
      this.invalid = this.problem;
      throw err;
    }
  }

  private async generate(ns: string, name: string, timeoutMs: number): Promise<SecretObject> {
    const { config } = this.deps;
    const now = new Date(this.deps.clock());
    const ca = generateRootCa({
      keyAlgorithm: config.ca.keyAlgorithm,
      trustDomain: config.trustDomain,
      lifetimeSeconds: config.ca.lifetime,
      now,
      permittedNames: permittedNamesOf(config),
    });
    try {
      return await this.deps.secrets.create(newCaSecret(ca, ns, name, now), { timeoutMs });
    } catch (err) {
      if (apiStatus(err) !== 409) throw err;
      // Another replica won the race: use its CA.
      const winner = await this.deps.secrets.get(ns, name);
      if (winner === undefined) throw err;
      return winner;
    }
  }
}

/** Whether two loads of the CA Secret issue from the same CA and trust, prepare and retire the same roots. */
function sameTrust(a: CaMaterial, b: CaMaterial): boolean {
  return (
    a.active.certPem === b.active.certPem &&
    a.active.keyPem === b.active.keyPem &&
    a.bundlePem === b.bundlePem &&
    a.nextCertPem === b.nextCertPem &&
    a.previousCertPem === b.previousCertPem
  );
}
