import type { Command } from 'commander';
import type { Config } from '../config/schema.js';
import { ErrorCode, InjectorError } from '../core/errors.js';
import { MANAGED_LABEL } from '../core/names.js';
import { loadKubeConfig } from '../kube/client.js';
import { clusterTrustBundleName } from '../core/pod-certificate.js';
import { createConfigMapApi } from '../kube/configmaps.js';
import { createClusterTrustBundleApi, discoverCertificateApis } from '../kube/pod-certificates.js';
import { createSecretApi } from '../kube/secrets.js';
import type { ClusterTrustBundleApi, ConfigMapApi, SecretApi, SecretObject } from '../kube/types.js';
import { pendingPods, type PreviousCaPods, readPreviousCaPods } from '../model/previous-ca-pods.js';
import { generateRootCa } from '../pki/ca.js';
import { permittedNamesOf } from '../rotator/ca-manager.js';
import { planActivate, planPrepare, planRetire, type RotationPlan } from '../model/ca-rotation.js';
import { NEXT_CERT_FILE, PREVIOUS_CERT_FILE, readCaSecret, secretTrusts } from '../model/ca-secret.js';
import { secretFile } from '../model/secret-data.js';
import type { RegisterCommand } from './commands.js';
import { addConfigOptions, configFromOptions } from './config-options.js';
import type { CliContext } from './context.js';
import { ExitCode } from './context.js';

const KEYS = [
  'installNamespace',
  'trustDomain',
  'clusterDomain',
  'webhook.extraDnsNames',
  'ca.nameConstraints',
  'ca.secretName',
  'ca.keyAlgorithm',
  'ca.lifetime',
  'ca.propagationDelay',
  'delivery.factsConfigMap',
  'podCertificate.signerName',
] as const;

/** Pod Certificates reads of a rotation step: the rotator's record and the signer's ClusterTrustBundle. */
export interface RotationPodCertificates {
  readonly configMaps: Pick<ConfigMapApi, 'get'>;
  /** Undefined where the API server serves no ClusterTrustBundles. */
  readonly trustBundles: Pick<ClusterTrustBundleApi, 'get'> | undefined;
}

type Step = 'prepare' | 'activate' | 'retire' | 'status';

/**
 * `mtls-injector ca rotate prepare|activate|retire|status`: rotates the cluster CA in three safe steps by
 * editing the CA Secret; the rotator carries each step out (bundle refresh, reissue). Attaches to the `ca`
 * group registered by src/cli/ca.ts, so it must come after it in COMMANDS.
 */
export const registerCaRotate: RegisterCommand = (program, ctx, done) => {
  const group = program.commands.find((c) => c.name() === 'ca') ?? program.command('ca');
  const rotate = group
    .command('rotate')
    .description(
      'Rotate the in-cluster CA: prepare (trust the new root) → activate (issue from it) → retire (drop the old root)',
    );
  const steps: Record<Step, string> = {
    prepare: 'generate a new root and add it to every trust bundle; issuing stays on the current CA',
    activate:
      'issue from the new CA (refused until every managed Secret trusts it and ca.propagationDelay has passed)',
    retire: 'remove the previous root from the trust bundle (refused while any leaf still chains to it)',
    status: 'show the rotation phase and how far the rotator has carried it',
  };
  for (const step of Object.keys(steps) as Step[]) {
    const command: Command = rotate
      .command(step)
      .description(steps[step])
      .option('--kubeconfig <file>', 'kubeconfig to use (default: $KUBECONFIG or ~/.kube/config)');
    addConfigOptions(command, KEYS);
    command.action(async () => {
      const config = configFromOptions(command, KEYS, ctx);
      const opts = command.opts<{ kubeconfig?: string }>();
      const kc = loadKubeConfig(opts.kubeconfig ?? ctx.env['KUBECONFIG']);
      const served = await discoverCertificateApis(kc);
      const podCertificates: RotationPodCertificates = {
        configMaps: createConfigMapApi(kc),
        trustBundles:
          served.clusterTrustBundles === undefined
            ? undefined
            : createClusterTrustBundleApi(kc, served.clusterTrustBundles),
      };
      done(await runStep(step, config, createSecretApi(kc), ctx, new Date(), podCertificates));
    });
  }
};

/** Runs one rotation step against `secrets` (the real API in the command; an in-memory one in tests). */
export async function runStep(
  step: Step,
  config: Config,
  secrets: SecretApi,
  ctx: Pick<CliContext, 'stdout' | 'stderr'>,
  now: Date,
  podCertificates?: RotationPodCertificates,
): Promise<number> {
  const ns = config.installNamespace;
  const name = config.ca.secretName;
  const caSecret = await secrets.get(ns, name);
  if (caSecret === undefined) {
    throw new InjectorError(
      ErrorCode.UsageInvalid,
      `CA Secret ${ns}/${name} not found; is the rotator installed in namespace ${ns}? (--install-namespace)`,
    );
  }
  readCaSecret(caSecret, now); // refuse to act on a CA that does not load
  const managed = (await secrets.list(`${MANAGED_LABEL}=true`)).filter(
    (s) => !(s.metadata.namespace === ns && s.metadata.name === name),
  );

  // The rotator publishes the facts ConfigMap (releases with Pod Certificates): then pods may hold pod
  // certificates, and the record of those that still hold one of the previous CA is kept there.
  const facts = await podCertificates?.configMaps.get(ns, config.delivery.factsConfigMap);
  const record = facts === undefined ? undefined : { record: readPreviousCaPods(facts) };
  const bundleName = clusterTrustBundleName(config.podCertificate.signerName);
  const bundle = await podCertificates?.trustBundles?.get(bundleName);
  const podBundles =
    bundle === undefined ? [] : [{ what: `ClusterTrustBundle ${bundleName}`, pem: bundle.spec.trustBundle }];

  if (step === 'status') {
    ctx.stdout.write(describeStatus(caSecret, managed, record?.record));
    return ExitCode.Ok;
  }
  let plan: RotationPlan;
  if (step === 'prepare') {
    const next = generateRootCa({
      keyAlgorithm: config.ca.keyAlgorithm,
      trustDomain: config.trustDomain,
      lifetimeSeconds: config.ca.lifetime,
      now,
      permittedNames: permittedNamesOf(config),
    });
    plan = planPrepare(caSecret, next, now);
  } else if (step === 'activate') {
    plan = planActivate(caSecret, managed, now, config.ca.propagationDelay, podBundles);
  } else {
    plan = planRetire(caSecret, managed, now, record);
  }
  if (!plan.ok) {
    ctx.stderr.write(`ca rotate ${step}: refused: ${plan.message}\n`);
    return ExitCode.Failure;
  }
  await secrets.replace(plan.secret);
  ctx.stdout.write(`ca rotate ${step}: done: ${plan.summary}\nnext: mtls-injector ca rotate status\n`);
  return ExitCode.Ok;
}

function describeStatus(
  caSecret: SecretObject,
  managed: readonly SecretObject[],
  record: PreviousCaPods | undefined,
): string {
  const next = secretFile(caSecret, NEXT_CERT_FILE);
  const previous = secretFile(caSecret, PREVIOUS_CERT_FILE);
  if (next !== undefined) {
    const trusting = managed.filter((s) => secretTrusts(s, next)).length;
    return `phase: prepared (new root in the bundle, issuing from the current CA)\n  managed Secrets trusting the new root: ${trusting}/${managed.length}\nnext: mtls-injector ca rotate activate\n`;
  }
  if (previous !== undefined) {
    const pods =
      record === undefined
        ? ''
        : `  pods that may still hold a pod certificate of the previous CA: ${pendingPods(record)} (all expired by ${record.until})\n`;
    return `phase: activated (issuing from the new CA; previous root still trusted)\n  managed Secrets: ${managed.length}\n${pods}next: mtls-injector ca rotate retire (once every leaf was reissued)\n`;
  }
  return `phase: steady (no rotation in progress)\n  managed Secrets: ${managed.length}\nnext: mtls-injector ca rotate prepare\n`;
}
