import type { Config } from '../config/schema.js';
import { ErrorCode, InjectorError } from '../core/errors.js';
import { apiStatus, type SecretApi, type SecretObject } from '../kube/types.js';
import { generateRootCa } from '../pki/ca.js';
import { type CaMaterial, newCaSecret, readCaSecret } from '../model/ca-secret.js';

/**
 * Owns the issuing CA: on first start generates it into the CA Secret (race-safe between replicas: a 409 on
 * create re-reads the winner's), or loads a bring-your-own intermediate. `refresh()` re-reads the Secret and
 * says whether anything changed, so a rotation step taken by the CLI reaches the controller.
 */
export class CaManager {
  private material: CaMaterial | undefined;
  private problem: string | undefined;

  constructor(
    private readonly deps: {
      readonly config: Config;
      readonly secrets: SecretApi;
      readonly clock: () => number;
    },
  ) {}

  /** The loaded CA, or undefined while not ready (see `notReadyReason`). */
  current(): CaMaterial | undefined {
    return this.material;
  }

  /** Why there is no usable CA, for /readyz and logs. */
  notReadyReason(): string | undefined {
    return this.problem;
  }

  /**
   * Makes sure a CA exists and is loaded. Returns true when the CA or trust bundle changed since the last
   * call. A CA that cannot be used (expired, mismatched key, …) leaves the previous one in place and throws.
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
      secret = await this.generate(ns, name);
    }
    if (this.material !== undefined && this.material.resourceVersion === secret.metadata.resourceVersion)
      return false;
    try {
      const before = this.material;
      this.material = readCaSecret(secret, new Date(this.deps.clock()));
      this.problem = undefined;
      // Annotations alone (the rotation's propagation mark) change nothing the controller uses.
      return before === undefined || !sameTrust(before, this.material);
    } catch (err) {
      this.problem = err instanceof Error ? err.message : String(err);
      throw err;
    }
  }

  private async generate(ns: string, name: string): Promise<SecretObject> {
    const { config } = this.deps;
    const now = new Date(this.deps.clock());
    const ca = generateRootCa({
      keyAlgorithm: config.ca.keyAlgorithm,
      trustDomain: config.trustDomain,
      lifetimeSeconds: config.ca.lifetime,
      now,
    });
    try {
      return await this.deps.secrets.create(newCaSecret(ca, ns, name, now));
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
