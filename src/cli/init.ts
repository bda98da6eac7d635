import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { workloadIdentity } from '../core/identity.js';
import {
  CA_FILE,
  CERT_FILE,
  CRL_FILE,
  ENV_POD_NAMESPACE,
  ENV_POD_SERVICE_ACCOUNT,
  KEY_FILE,
  MOUNT_PATH,
} from '../core/names.js';
import { leafRevocation } from '../pki/crl-check.js';
import { verifyLeaf } from '../pki/verify.js';
import type { RegisterCommand } from './commands.js';
import { addConfigOptions, configFromOptions } from './config-options.js';
import { ExitCode } from './context.js';

const KEYS = ['trustDomain', 'init.waitTimeout'] as const;
const POLL_MS = 1000;

/**
 * `mtls-injector init`: the init container. Waits (bounded) for the mounted identity, then verifies it: the
 * key matches the certificate, the chain verifies against ca.crt, the SPIFFE ID is this pod's own
 * (namespace and service account from the downward API), it is valid now, and it is not on its issuer's CRL
 * in ca.crl (when the Secret has one). Exits 0 only then, so the app never starts with a missing, expired,
 * wrong or revoked certificate. Read-only: running it again always gives the same answer for the same files.
 */
export const registerInit: RegisterCommand = (program, ctx, done) => {
  const command: Command = program
    .command('init')
    .description(
      'Verify the mounted workload identity before the application starts (the mtls-init container)',
    )
    .option('--dir <path>', 'directory holding tls.crt, tls.key and ca.crt', MOUNT_PATH)
    .option('--namespace <ns>', `the pod's namespace (default: $${ENV_POD_NAMESPACE})`)
    .option('--service-account <sa>', `the pod's service account (default: $${ENV_POD_SERVICE_ACCOUNT})`);
  addConfigOptions(command, KEYS);
  command.action(async () => {
    const config = configFromOptions(command, KEYS, ctx);
    const opts = command.opts<{ dir: string; namespace?: string; serviceAccount?: string }>();
    const namespace = opts.namespace ?? ctx.env[ENV_POD_NAMESPACE];
    const serviceAccount = opts.serviceAccount ?? ctx.env[ENV_POD_SERVICE_ACCOUNT];
    const fail = (message: string): void => {
      ctx.stderr.write(`mtls-init: ${message}\n`);
      done(ExitCode.Failure);
    };
    if (
      namespace === undefined ||
      namespace === '' ||
      serviceAccount === undefined ||
      serviceAccount === ''
    ) {
      fail(
        `the pod's namespace and service account are unknown; expected env ${ENV_POD_NAMESPACE} and ${ENV_POD_SERVICE_ACCOUNT} ` +
          '(set by the webhook from the downward API) or --namespace/--service-account',
      );
      return;
    }
    const expected = workloadIdentity(config.trustDomain, namespace, serviceAccount).spiffeId;
    const deadline = Date.now() + config.init.waitTimeout * 1000;
    const paths = [CERT_FILE, KEY_FILE, CA_FILE].map((f) => join(opts.dir, f));

    // Wait for the files and for them to verify: the kubelet mounts the Secret as soon as the rotator writes
    // it, and the rotator also repairs a bad one, so only a problem that outlasts the wait is fatal. Each new
    // problem is written at once, so `kubectl logs -c mtls-init` tells why a pod waits in Init.
    let told = '';
    for (;;) {
      const files = await readAll(paths);
      let problem: string;
      if (files.missing.length === 0) {
        const [certPem = '', keyPem = '', bundlePem = ''] = files.texts;
        const result = verifyLeaf({
          certChainPem: certPem,
          keyPem,
          trustBundlePem: bundlePem,
          now: new Date(),
          expectedSpiffeId: expected,
        });
        const revocation = result.ok ? await revocationProblem(opts.dir, certPem, bundlePem) : undefined;
        if (result.ok && result.leaf !== undefined && revocation?.problem === undefined) {
          for (const warning of revocation?.warnings ?? [])
            ctx.stderr.write(`mtls-init: warning: ${warning}\n`);
          ctx.stdout.write(
            `mtls-init: identity ${expected} verified (key matches, chain trusted, ${revocation?.summary ?? 'no ca.crl'}, valid until ${result.leaf.notAfter.toISOString()})\n`,
          );
          done(ExitCode.Ok);
          return;
        }
        problem = revocation?.problem ?? describe(result.problems, expected, opts.dir);
      } else {
        problem =
          `${files.missing.join(', ')} not present after ${config.init.waitTimeout}s; is the mtls-injector rotator ` +
          'running? Check its pods and `kubectl describe pod` Events';
      }
      if (Date.now() >= deadline || ctx.signal.aborted) {
        fail(problem);
        return;
      }
      if (problem !== told) {
        ctx.stderr.write(`mtls-init: waiting (up to ${config.init.waitTimeout}s): ${problem}\n`);
        told = problem;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  });
};

/**
 * What ca.crl says of the mounted leaf: a problem that keeps the app from starting (the leaf is revoked, or
 * ca.crl is unreadable or forged), warnings that do not (the CRL has passed its nextUpdate), and a summary.
 * No ca.crl is fine: older releases and the Pod Certificates mode may not write one.
 */
async function revocationProblem(
  dir: string,
  certPem: string,
  bundlePem: string,
): Promise<{ problem: string | undefined; warnings: string[]; summary: string }> {
  let crlPem: string | undefined;
  try {
    crlPem = await readFile(join(dir, CRL_FILE), 'utf8');
  } catch {
    return { problem: undefined, warnings: [], summary: 'no ca.crl' };
  }
  const { status, problems } = leafRevocation({
    certChainPem: certPem,
    trustBundlePem: bundlePem,
    crlPem,
    now: new Date(),
  });
  const fatal = problems.filter((p) => p.code === 'bad_crl' || p.code === 'crl_signature');
  const warnings = problems.filter((p) => !fatal.includes(p)).map((p) => p.message);
  const retry =
    'The rotator rewrites the Secret on its own; if this persists, check `mtls-injector check -n <namespace> --pod <pod>`';
  if (status.kind === 'revoked') {
    return {
      problem:
        `the certificate in ${dir} (serial ${status.serialHex}) is revoked: it is on its issuer's CRL in ${CRL_FILE} ` +
        `(${status.reason ?? 'unspecified'}, ${status.revokedAt.toISOString()}); the rotator issues a new key and certificate ` +
        `after a revocation. ${retry}`,
      warnings,
      summary: '',
    };
  }
  if (fatal.length > 0) {
    return { problem: `${fatal.map((p) => p.message).join('; ')}. ${retry}`, warnings, summary: '' };
  }
  const summary =
    status.kind === 'not_revoked'
      ? `not on the CRL (number ${status.crl.crlNumber ?? 'none'}, next update ${status.crl.nextUpdate?.toISOString() ?? 'none'})`
      : status.why;
  return { problem: undefined, warnings, summary };
}

function describe(
  problems: readonly { code: string; message: string }[],
  expected: string,
  dir: string,
): string {
  const lines = problems.map((p) => `  - ${p.code}: ${p.message}`).join('\n');
  return (
    `the identity in ${dir} is not usable for ${expected}:\n${lines}\n` +
    "The rotator reissues bad certificates on its own; if this persists, delete the pod's Secret (named in its " +
    'mtls-injector.io/secret annotation) and the pod, and check `mtls-injector check -n <namespace> --pod <pod>`'
  );
}

async function readAll(paths: readonly string[]): Promise<{ texts: string[]; missing: string[] }> {
  const texts: string[] = [];
  const missing: string[] = [];
  for (const path of paths) {
    try {
      texts.push(await readFile(path, 'utf8'));
    } catch {
      missing.push(path);
    }
  }
  return { texts, missing };
}
