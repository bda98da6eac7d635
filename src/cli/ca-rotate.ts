import { type Command, Option } from 'commander';
import type { Config } from '../config/schema.js';
import { ErrorCode, InjectorError } from '../core/errors.js';
import { MANAGED_LABEL } from '../core/names.js';
import { clusterTrustBundleName } from '../core/pod-certificate.js';
import { createConfigMapApi } from '../kube/configmaps.js';
import { createClusterTrustBundleApi, discoverCertificateApis } from '../kube/pod-certificates.js';
import { createSecretApi } from '../kube/secrets.js';
import type { ClusterTrustBundleApi, ConfigMapApi, SecretApi } from '../kube/types.js';
import { readPreviousCaPods } from '../model/previous-ca-pods.js';
import { generateRootCa } from '../pki/ca.js';
import { permittedNamesOf } from '../rotator/ca-manager.js';
import { planActivate, planPrepare, planRetire, type RotationPlan } from '../model/ca-rotation.js';
import { rotationStatus } from '../model/ca-rotation-status.js';
import { readCaSecret } from '../model/ca-secret.js';
import { renderRotationStatus } from './ca-rotate-status.js';
import type { RegisterCommand } from './commands.js';
import { addConfigOptions } from './config-options.js';
import { configFromInstallation } from './installation.js';
import type { CliContext } from './context.js';
import { ExitCode } from './context.js';

const KEYS = [
  'installNamespace',
  'trustDomain',
  'clusterDomain',
  'webhook.extraDnsNames',
  'ca.nameConstraints',
  'ca.secretName',
  'ca.bringYourOwn',
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
    status:
      'show the rotation phase, how far the rotator has carried it, and for each step whether it may run now and how long is left',
  };
  for (const step of Object.keys(steps) as Step[]) {
    const command: Command = rotate
      .command(step)
      .description(steps[step])
      .option('--kubeconfig <file>', 'kubeconfig to use (default: $KUBECONFIG or ~/.kube/config)');
    if (step === 'status') {
      command.addOption(
        new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'),
      );
    }
    addConfigOptions(command, KEYS, { installed: true });
    command.action(async () => {
      const { config, kc } = await configFromInstallation(command, KEYS, ctx);
      const secrets = createSecretApi(kc);
      const { output } = command.opts<{ output?: 'text' | 'json' }>();
      const served = await discoverCertificateApis(kc);
      const podCertificates: RotationPodCertificates = {
        configMaps: createConfigMapApi(kc),
        trustBundles:
          served.clusterTrustBundles === undefined
            ? undefined
            : createClusterTrustBundleApi(kc, served.clusterTrustBundles),
      };
      done(await runStep(step, config, secrets, ctx, new Date(), output, podCertificates));
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
  output: 'text' | 'json' = 'text',
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
    const status = rotationStatus(caSecret, managed, now, config.ca.propagationDelay, {
      bundles: podBundles,
      record,
    });
    ctx.stdout.write(
      output === 'json'
        ? `${JSON.stringify({ ...status, propagationDelaySeconds: config.ca.propagationDelay }, null, 2)}\n`
        : renderRotationStatus(status, config.ca.propagationDelay),
    );
    return ExitCode.Ok;
  }
  let plan: RotationPlan;
  if (step === 'prepare' && config.ca.bringYourOwn) {
    // prepare makes a self-signed root, and activate would then replace the intermediate of your PKI with it.
    plan = {
      ok: false,
      message:
        'ca.bringYourOwn is set: mtls-injector does not generate your CA; rotate your intermediate as ' +
        'docs/runbooks/ca-rotation.md says (edit the CA Secret, follow with ca rotate status)',
    };
  } else if (step === 'prepare') {
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
