import type { Command } from 'commander';
import { parseDurationSeconds } from '../config/duration.js';
import type { Config } from '../config/schema.js';
import { ErrorCode, InjectorError } from '../core/errors.js';
import { MANAGED_LABEL } from '../core/names.js';
import { loadKubeConfig } from '../kube/client.js';
import { createSecretApi } from '../kube/secrets.js';
import type { InspectApi, SecretApi, SecretObject } from '../kube/types.js';
import { createWorkloadApi } from '../kube/workloads.js';
import { generateRootCa } from '../pki/ca.js';
import {
  planActivate,
  planPrepare,
  planRetire,
  propagationStartedAt,
  type RotationPlan,
  secretsInUse,
} from '../model/ca-rotation.js';
import {
  NEXT_CERT_FILE,
  PREVIOUS_CERT_FILE,
  readCaSecret,
  secretIssuedBy,
  secretTrusts,
} from '../model/ca-secret.js';
import { secretFile } from '../model/secret-data.js';
import type { RegisterCommand } from './commands.js';
import { addConfigOptions, configFromOptions } from './config-options.js';
import type { CliContext } from './context.js';
import { ExitCode } from './context.js';

const KEYS = [
  'installNamespace',
  'trustDomain',
  'ca.secretName',
  'ca.keyAlgorithm',
  'ca.lifetime',
  'ca.propagationDelay',
] as const;

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
    status: 'show the rotation phase and how far the rotator has carried it',
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
    addConfigOptions(command, KEYS);
    command.action(async () => {
      const config = configFromOptions(command, KEYS, ctx);
      const opts = command.opts<{ kubeconfig?: string; wait?: boolean; waitTimeout?: string }>();
      const kc = loadKubeConfig(opts.kubeconfig ?? ctx.env['KUBECONFIG']);
      const secrets = createSecretApi(kc);
      const pods = createWorkloadApi(kc);
      if (opts.wait !== true) {
        done(await runStep(step, config, secrets, ctx, new Date(), pods));
        return;
      }
      const timeout = parseDurationSeconds(opts.waitTimeout ?? '');
      if (timeout === undefined) {
        throw new InjectorError(
          ErrorCode.UsageInvalid,
          `--wait-timeout: expected a duration such as 90s, 15m or 1h, got ${JSON.stringify(opts.waitTimeout)}`,
        );
      }
      done(await waitForStep(step, config, secrets, pods, ctx, timeout));
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
): Promise<number> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  let told = '';
  for (;;) {
    const result = await attemptStep(step, config, secrets, new Date(), pods);
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
): Promise<number> {
  const result = await attemptStep(step, config, secrets, now, pods);
  report(step, result, ctx);
  return result.code;
}

async function attemptStep(
  step: Step,
  config: Config,
  secrets: SecretApi,
  now: Date,
  pods: PodLister | undefined,
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

  if (step === 'status') {
    return {
      code: ExitCode.Ok,
      retryable: false,
      message: describeStatus(caSecret, managed, now, config.ca.propagationDelay),
    };
  }
  let plan: RotationPlan;
  if (step === 'prepare') {
    const next = generateRootCa({
      keyAlgorithm: config.ca.keyAlgorithm,
      trustDomain: config.trustDomain,
      lifetimeSeconds: config.ca.lifetime,
      now,
    });
    plan = planPrepare(caSecret, next, now);
  } else if (step === 'activate') {
    plan = planActivate(caSecret, managed, now, config.ca.propagationDelay);
  } else {
    plan = planRetire(caSecret, managed, now, config.ca.propagationDelay);
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

function describeStatus(
  caSecret: SecretObject,
  managed: readonly SecretObject[],
  now: Date,
  propagationSeconds: number,
): string {
  const next = secretFile(caSecret, NEXT_CERT_FILE);
  const previous = secretFile(caSecret, PREVIOUS_CERT_FILE);
  const delivery = (step: 'activate' | 'retire'): string => {
    const started = propagationStartedAt(caSecret, step);
    if (started === undefined) return '';
    const left = Math.ceil((started.getTime() + propagationSeconds * 1000 - now.getTime()) / 1000);
    return left > 0
      ? `  kubelets delivering since ${started.toISOString()}: ${step} possible in ${left}s\n`
      : `  kubelets had ca.propagationDelay (${propagationSeconds}s) since ${started.toISOString()}\n`;
  };
  if (next !== undefined) {
    const trusting = managed.filter((s) => secretTrusts(s, next)).length;
    return `phase: prepared (new root in the bundle, issuing from the current CA)\n  managed Secrets trusting the new root: ${trusting}/${managed.length}\n${delivery('activate')}next: mtls-injector ca rotate activate\n`;
  }
  if (previous !== undefined) {
    const stale = managed.filter((s) => secretIssuedBy(s, previous)).length;
    return `phase: activated (issuing from the new CA; previous root still trusted)\n  managed certificates still from the previous CA: ${stale}/${managed.length}\n${delivery('retire')}next: mtls-injector ca rotate retire (once every leaf was reissued)\n`;
  }
  return `phase: steady (no rotation in progress)\n  managed Secrets: ${managed.length}\nnext: mtls-injector ca rotate prepare\n`;
}
