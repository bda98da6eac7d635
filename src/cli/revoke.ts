import { type Command, Option } from 'commander';
import { ErrorCode, InjectorError } from '../core/errors.js';
import {
  REVOCATION_REASON_NAMES,
  type RevocationReason,
  revocationReasonProblem,
} from '../core/revocation.js';
import { loadKubeConfig } from '../kube/client.js';
import { createConfigMapApi } from '../kube/configmaps.js';
import { createPodCertificateRequestApi, discoverCertificateApis } from '../kube/pod-certificates.js';
import { createEventWriter } from '../kube/events.js';
import { createSecretApi } from '../kube/secrets.js';
import { createWhoAmI } from '../kube/whoami.js';
import { createWorkloadApi } from '../kube/workloads.js';
import { renderRevoke, renderRevokeJson } from '../revoke/render.js';
import { runRevoke } from '../revoke/run.js';
import type { RevokeTarget } from '../revoke/targets.js';
import type { RegisterCommand } from './commands.js';
import { addConfigOptions, configFromOptions } from './config-options.js';
import { ExitCode } from './context.js';

const KEYS = [
  'installNamespace',
  'trustDomain',
  'leafLifetime',
  'podCertificate.signerName',
  'podCertificate.maxExpiration',
] as const;

/**
 * `mtls-injector revoke --pod NS/NAME | --service-account NS/SA | --serial HEX [--reason R] [--dry-run]`:
 * records the revocation in the ConfigMap mtls-injector-revocations of the install namespace (the source of
 * truth CRLs are built from) and writes Events naming who revoked what. Exit 0 when recorded (or already
 * revoked), 1 when the target does not resolve; nothing is changed then.
 */
export const registerRevoke: RegisterCommand = (program, ctx, done) => {
  const command: Command = program
    .command('revoke')
    .description(
      'Revoke workload certificates: the live one of a pod, every live one of a service account, or one serial',
    )
    .option('--pod <ns/name>', "revoke the pod's current certificate")
    .option('--service-account <ns/sa>', "revoke every live certificate of that service account's identity")
    .option(
      '--serial <hex>',
      'revoke the certificate with this serial (as `openssl x509 -noout -serial` prints)',
    )
    .option('-n, --namespace <ns>', 'with --serial: look for it only in this namespace')
    .addOption(
      new Option('--reason <reason>', 'RFC 5280 reason code written into the CRL').default('unspecified'),
    )
    .option('--dry-run', 'list what would be revoked; write nothing', false)
    .option('--force', 'with --serial: revoke it even though no managed Secret holds it', false)
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('--kubeconfig <file>', 'kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, or in-cluster)')
    .addHelpText('after', `\nReasons: ${REVOCATION_REASON_NAMES.join(', ')}.`);
  addConfigOptions(command, KEYS);
  command.action(async () => {
    const config = configFromOptions(command, KEYS, ctx);
    const opts = command.opts<{
      pod?: string;
      serviceAccount?: string;
      serial?: string;
      namespace?: string;
      reason: string;
      dryRun: boolean;
      force: boolean;
      output: 'text' | 'json';
      kubeconfig?: string;
    }>();
    const target = targetOf(opts);
    const reasonProblem = revocationReasonProblem(opts.reason);
    if (reasonProblem !== undefined)
      throw new InjectorError(ErrorCode.UsageInvalid, `--reason: ${reasonProblem}`);
    const kc = loadKubeConfig(opts.kubeconfig ?? ctx.env['KUBECONFIG']);
    // Pods with pod certificates: their serials are in PodCertificateRequests, where the API serves them.
    // A failed discovery only loses the serial lookup in requests (revoke warns; the rotator adds them).
    const pcrVersion = await discoverCertificateApis(kc).then(
      (served) => served.podCertificateRequests,
      () => undefined,
    );
    const outcome = await runRevoke(
      {
        requests: pcrVersion === undefined ? undefined : createPodCertificateRequestApi(kc, pcrVersion),
        inspect: createWorkloadApi(kc),
        secrets: createSecretApi(kc),
        configMaps: createConfigMapApi(kc),
        events: createEventWriter(kc, 'mtls-injector-revoke'),
        whoami: createWhoAmI(kc),
        now: new Date(),
      },
      {
        target,
        reason: opts.reason as RevocationReason,
        installNamespace: config.installNamespace,
        trustDomain: config.trustDomain,
        leafLifetimeSeconds: config.leafLifetime,
        dryRun: opts.dryRun,
        force: opts.force,
        signerName: config.podCertificate.signerName,
        maxExpirationSeconds: config.podCertificate.maxExpiration,
      },
    );
    ctx.stdout.write(
      opts.output === 'json' ? renderRevokeJson(outcome) : renderRevoke(outcome, config.installNamespace),
    );
    done(ExitCode.Ok);
  });
};

/** The one target the flags name; a usage error for none, several, or a malformed NS/NAME. */
function targetOf(opts: {
  pod?: string;
  serviceAccount?: string;
  serial?: string;
  namespace?: string;
  force: boolean;
}): RevokeTarget {
  const given = [
    opts.pod === undefined ? undefined : '--pod',
    opts.serviceAccount === undefined ? undefined : '--service-account',
    opts.serial === undefined ? undefined : '--serial',
  ].filter((x) => x !== undefined);
  if (given.length !== 1) {
    throw new InjectorError(
      ErrorCode.UsageInvalid,
      `revoke: expected exactly one of --pod NS/NAME, --service-account NS/SA or --serial HEX, got ${given.length === 0 ? 'none' : given.join(' and ')}`,
    );
  }
  if (opts.serial === undefined && opts.namespace !== undefined) {
    throw new InjectorError(
      ErrorCode.UsageInvalid,
      'revoke: -n goes with --serial only; write --pod NS/NAME',
    );
  }
  if (opts.serial === undefined && opts.force) {
    throw new InjectorError(ErrorCode.UsageInvalid, 'revoke: --force goes with --serial only');
  }
  if (opts.serial !== undefined) return { kind: 'serial', serial: opts.serial, namespace: opts.namespace };
  const flag = opts.pod === undefined ? '--service-account' : '--pod';
  const value = opts.pod ?? opts.serviceAccount ?? '';
  const match = /^([^/]+)\/([^/]+)$/.exec(value);
  if (match === null) {
    throw new InjectorError(
      ErrorCode.UsageInvalid,
      `revoke: ${flag} ${JSON.stringify(value)}; expected NAMESPACE/NAME, e.g. ${flag} demo/${flag === '--pod' ? 'web-0' : 'web'}`,
    );
  }
  const [, namespace = '', name = ''] = match;
  return { kind: opts.pod === undefined ? 'service-account' : 'pod', namespace, name };
}
