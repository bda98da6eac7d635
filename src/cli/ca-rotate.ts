import { type Command, Option } from 'commander';
import { parseDurationSeconds } from '../config/duration.js';
import type { Config } from '../config/schema.js';
import { ErrorCode, InjectorError } from '../core/errors.js';
import { MANAGED_LABEL } from '../core/names.js';
import { clusterTrustBundleName } from '../core/pod-certificate.js';
import { createConfigMapApi } from '../kube/configmaps.js';
import { createClusterTrustBundleApi, discoverCertificateApis } from '../kube/pod-certificates.js';
import { createSecretApi } from '../kube/secrets.js';
import type { ClusterTrustBundleApi, ConfigMapApi, InspectApi, SecretApi } from '../kube/types.js';
import { createWorkloadApi } from '../kube/workloads.js';
import { readPreviousCaPods } from '../model/previous-ca-pods.js';
import { generateRootCa } from '../pki/ca.js';
import { permittedNamesOf } from '../rotator/ca-manager.js';
import {
  planActivate,
  planPrepare,
  planRetire,
  type RotationPlan,
  secretsInUse,
} from '../model/ca-rotation.js';
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
      'issue from the new CA (refused until every managed Secret trusts it, then for ca.propagationDelay while the kubelets deliver it)',
    retire:
      'remove the previous root from the trust bundle (refused while any leaf still chains to it, then for ca.propagationDelay while the kubelets deliver the new leaves)',
    status:
      'show the rotation phase, how far the rotator has carried it, and for each step whether it may run now and how long is left',
  };
  for (const step of Object.keys(steps) as Step[]) {
    const command: Command = rotate
      .command(step)
      .description(steps[step])
      .option('--kubeconfig <file>', 'kubeconfig to use (default: $KUBECONFIG or ~/.kube/config)');
    if (step === 'activate' || step === 'retire') {
      command
        .option('--wait', 'while the step is refused only for now, retry it every 5s until it runs')
        .option('--wait-timeout <duration>', 'with --wait, give up after this long', '20m');
    }
    if (step === 'status') {
      command.addOption(
        new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'),
      );
    }
    addConfigOptions(command, KEYS, { installed: true });
    command.action(async () => {
      const { config, kc } = await configFromInstallation(command, KEYS, ctx);
      const opts = command.opts<{ wait?: boolean; waitTimeout?: string; output?: 'text' | 'json' }>();
      const secrets = createSecretApi(kc);
      const pods = createWorkloadApi(kc);
      const served = await discoverCertificateApis(kc);
      const podCertificates: RotationPodCertificates = {
        configMaps: createConfigMapApi(kc),
        trustBundles:
          served.clusterTrustBundles === undefined
            ? undefined
            : createClusterTrustBundleApi(kc, served.clusterTrustBundles),
      };
      if (opts.wait !== true) {
        done(await runStep(step, config, secrets, ctx, new Date(), pods, opts.output, podCertificates));
        return;
      }
      const timeout = parseDurationSeconds(opts.waitTimeout ?? '');
      if (timeout === undefined) {
        throw new InjectorError(
          ErrorCode.UsageInvalid,
          `--wait-timeout: expected a duration such as 90s, 15m or 1h, got ${JSON.stringify(opts.waitTimeout)}`,
        );
      }
      done(await waitForStep(step, config, secrets, pods, ctx, timeout, podCertificates));
    });
  }
};

const WAIT_POLL_MS = 5000;

/** Retries `step` while it is refused only for now, up to `timeoutSeconds`; each new reason is printed once. */
async function waitForStep(
  step: Step,
  config: Config,
  secrets: SecretApi,
  pods: PodLister,
  ctx: Pick<CliContext, 'stdout' | 'stderr' | 'signal'>,
  timeoutSeconds: number,
  podCertificates: RotationPodCertificates,
): Promise<number> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  let told = '';
  for (;;) {
    const result = await attemptStep(step, config, secrets, new Date(), pods, 'text', podCertificates);
    if (result.code === ExitCode.Ok || !result.retryable || Date.now() >= deadline || ctx.signal.aborted) {
      report(step, result, ctx);
      return result.code;
    }
    // The same reason with another countdown is not news.
    const reason = result.message.replace(/\d+/g, '#');
    if (reason !== told) ctx.stderr.write(`ca rotate ${step}: waiting: ${result.message}\n`);
    told = reason;
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(WAIT_POLL_MS, deadline - Date.now()))));
  }
}

/** What one attempt at a step did: the exit code, and whether a refusal clears by itself. */
interface StepResult {
  readonly code: number;
  readonly retryable: boolean;
  readonly message: string;
}

function report(step: Step, result: StepResult, ctx: Pick<CliContext, 'stdout' | 'stderr'>): void {
  if (result.code === ExitCode.Ok) ctx.stdout.write(result.message);
  else ctx.stderr.write(`ca rotate ${step}: refused: ${result.message}\n`);
}

/** Lists the pods the webhook marked, in every namespace (to tell which Secrets are still read). */
type PodLister = Pick<InspectApi, 'listPodsAllNamespaces'>;

/**
 * Runs one rotation step against `secrets` (the real API in the command; an in-memory one in tests). With
 * `pods`, Secrets of finished or deleted pods are not waited for (secretsInUse); without, every one is.
 */
export async function runStep(
  step: Step,
  config: Config,
  secrets: SecretApi,
  ctx: Pick<CliContext, 'stdout' | 'stderr'>,
  now: Date,
  pods?: PodLister,
  output: 'text' | 'json' = 'text',
  podCertificates?: RotationPodCertificates,
): Promise<number> {
  const result = await attemptStep(step, config, secrets, now, pods, output, podCertificates);
  report(step, result, ctx);
  return result.code;
}

async function attemptStep(
  step: Step,
  config: Config,
  secrets: SecretApi,
  now: Date,
  pods: PodLister | undefined,
  output: 'text' | 'json' = 'text',
  podCertificates?: RotationPodCertificates,
): Promise<StepResult> {
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
  const listed = (await secrets.list(`${MANAGED_LABEL}=true`)).filter(
    (s) => !(s.metadata.namespace === ns && s.metadata.name === name),
  );
  const managed =
    pods === undefined
      ? listed
      : secretsInUse(listed, await pods.listPodsAllNamespaces(`${MANAGED_LABEL}=true`));

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
    return {
      code: ExitCode.Ok,
      retryable: false,
      message:
        output === 'json'
          ? `${JSON.stringify({ ...status, propagationDelaySeconds: config.ca.propagationDelay }, null, 2)}\n`
          : renderRotationStatus(status, config.ca.propagationDelay),
    };
  }
  let plan: RotationPlan;
  if (step === 'prepare' && config.ca.bringYourOwn) {
    // prepare makes a self-signed root, and activate would then replace the intermediate of your PKI with it.
    plan = {
      ok: false,
      retryable: false,
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
    plan = planRetire(caSecret, managed, now, config.ca.propagationDelay, record);
  }
  // A refusal may still carry a write: the mark that starts (or the removal that resets) the delivery wait.
  if (plan.secret !== undefined) await secrets.replace(plan.secret);
  if (!plan.ok) return { code: ExitCode.Failure, retryable: plan.retryable, message: plan.message };
  return {
    code: ExitCode.Ok,
    retryable: false,
    message: `ca rotate ${step}: done: ${plan.summary}\nnext: mtls-injector ca rotate status\n`,
  };
}
