import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, InjectorError } from '../core/errors.js';
import { CA_FILE, CERT_FILE, KEY_FILE } from '../core/names.js';
import { generateRootCa, loadCa } from '../pki/ca.js';
import { issueWorkloadIdentity } from '../pki/issue.js';
import type { RegisterCommand } from './commands.js';
import { addConfigOptions, configFromOptions } from './config-options.js';
import type { CliContext } from './context.js';
import { ExitCode } from './context.js';

const INIT_KEYS = ['trustDomain', 'ca.keyAlgorithm', 'ca.lifetime'] as const;
const ISSUE_KEYS = ['trustDomain', 'keyAlgorithm', 'leafLifetime', 'backdate'] as const;
/** Files of a CA directory made by `ca init`. */
const CA_KEY_FILE = 'ca.key';

/**
 * `mtls-injector ca`: a command group for a local CA. `ca init` creates a root CA in a directory; `ca issue`
 * issues a workload identity from it (or from a bring-your-own intermediate) into tls.crt, tls.key and ca.crt.
 * Later subcommands (rotation) attach to the same group.
 */
export const registerCa: RegisterCommand = (program, ctx, done) => {
  const group = program
    .command('ca')
    .description('Local certificate authority: create a root CA and issue SPIFFE workload identities');

  const init = group
    .command('init')
    .description('Create a self-signed root CA: writes DIR/ca.crt and DIR/ca.key (mode 0600)')
    .requiredOption('--dir <dir>', 'directory for ca.crt and ca.key (created if missing)')
    .option('--key-algorithm <alg>', 'key algorithm of the CA (same as --ca-key-algorithm)')
    .option('--force', 'replace an existing CA in DIR (leaves issued from it stop verifying)', false);
  addConfigOptions(init, INIT_KEYS);
  init.action(async () => {
    const opts = init.opts<{ dir: string; keyAlgorithm?: string; force: boolean }>();
    if (opts.keyAlgorithm !== undefined) init.setOptionValue('caKeyAlgorithm', opts.keyAlgorithm);
    const config = configFromOptions(init, INIT_KEYS, ctx);
    const certPath = join(opts.dir, CA_FILE);
    const keyPath = join(opts.dir, CA_KEY_FILE);
    if (!opts.force) {
      for (const path of [certPath, keyPath]) {
        if (await exists(path)) {
          throw new InjectorError(
            ErrorCode.UsageInvalid,
            `${path} already exists; refusing to overwrite an existing CA (certificates it issued would stop ` +
              'verifying): pass --force to replace it, or choose another --dir',
          );
        }
      }
    }
    const ca = generateRootCa({
      keyAlgorithm: config.ca.keyAlgorithm,
      trustDomain: config.trustDomain,
      lifetimeSeconds: config.ca.lifetime,
      now: new Date(),
    });
    await mkdir(opts.dir, { recursive: true, mode: 0o700 });
    await writeAtomically(keyPath, ca.keyPem, 0o600);
    await writeAtomically(certPath, ca.certPem, 0o644);
    ctx.stdout.write(
      `created root CA for trust domain ${config.trustDomain} (${config.ca.keyAlgorithm}, ${ca.signatureAlgorithm})\n` +
        `  ${certPath}  valid ${ca.notBefore.toISOString()} .. ${ca.notAfter.toISOString()}\n` +
        `  ${keyPath}  private key, mode 0600\n` +
        `next: mtls-injector ca issue --dir ${opts.dir} --namespace NS --service-account SA --out DIR\n`,
    );
    done(ExitCode.Ok);
  });

  const issue = group
    .command('issue')
    .description(
      'Issue the identity spiffe://<trust-domain>/ns/NS/sa/SA: writes OUT/tls.crt, OUT/tls.key (0600), OUT/ca.crt',
    )
    .requiredOption('--dir <dir>', 'CA directory (ca.crt with any intermediates after it, ca.key)')
    .requiredOption('--namespace <ns>', 'namespace of the workload (DNS-1123 label)')
    .requiredOption('--service-account <sa>', 'service account of the workload (DNS-1123 subdomain)')
    .requiredOption('--out <dir>', 'directory for tls.crt, tls.key and ca.crt (created if missing)')
    .option(
      '--dns <name>',
      'DNS SAN to add (repeatable)',
      (value: string, previous: string[]) => [...previous, value],
      [],
    )
    .option(
      '--bundle <file>',
      'trust bundle (roots) when ca.crt holds an intermediate; default: the root in ca.crt',
    );
  addConfigOptions(issue, ISSUE_KEYS);
  issue.action(async () => {
    const opts = issue.opts<{
      dir: string;
      namespace: string;
      serviceAccount: string;
      out: string;
      dns: string[];
      bundle?: string;
    }>();
    const config = configFromOptions(issue, ISSUE_KEYS, ctx);
    const now = new Date();
    const ca = loadCa({
      certChainPem: await readText(join(opts.dir, CA_FILE), opts.dir),
      keyPem: await readText(join(opts.dir, CA_KEY_FILE), opts.dir),
      bundlePem: opts.bundle === undefined ? undefined : await readText(opts.bundle, undefined),
      now,
    });
    if (ca.selfSigned && ca.organization !== undefined && ca.organization !== config.trustDomain) {
      warn(
        ctx,
        `the CA in ${opts.dir} was created for trust domain ${ca.organization}; issuing for ${config.trustDomain} ` +
          `(pass --trust-domain ${ca.organization} to match)`,
      );
    }
    const leaf = issueWorkloadIdentity(
      ca,
      { trustDomain: config.trustDomain, namespace: opts.namespace, serviceAccount: opts.serviceAccount },
      {
        keyAlgorithm: config.keyAlgorithm,
        lifetimeSeconds: config.leafLifetime,
        backdateSeconds: config.backdate,
        dnsNames: opts.dns,
        now,
      },
    );
    if (leaf.capped) {
      warn(ctx, `notAfter cut to the CA's notAfter ${leaf.notAfter.toISOString()}; renew the CA soon`);
    }
    await mkdir(opts.out, { recursive: true, mode: 0o700 });
    await writeAtomically(join(opts.out, KEY_FILE), leaf.keyPem, 0o600);
    await writeAtomically(join(opts.out, CERT_FILE), leaf.certPem, 0o644);
    await writeAtomically(join(opts.out, CA_FILE), ca.trustBundlePem, 0o644);
    ctx.stdout.write(
      `issued ${leaf.identity.spiffeId} (${config.keyAlgorithm}, serial ${leaf.serialHex})\n` +
        `  valid ${leaf.notBefore.toISOString()} .. ${leaf.notAfter.toISOString()}\n` +
        (opts.dns.length > 0 ? `  DNS names ${opts.dns.join(', ')}\n` : '') +
        `  ${join(opts.out, CERT_FILE)}, ${join(opts.out, KEY_FILE)} (0600), ${join(opts.out, CA_FILE)}\n`,
    );
    done(ExitCode.Ok);
  });
};

function warn(ctx: CliContext, message: string): void {
  ctx.stderr.write(`warning: ${message}\n`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function readText(path: string, caDir: string | undefined): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const hint =
      caDir !== undefined && code === 'ENOENT'
        ? `; create a CA first with: mtls-injector ca init --dir ${caDir}`
        : '';
    throw new InjectorError(ErrorCode.IoFailed, `cannot read ${path} (${code})${hint}`, { cause: err });
  }
}

/**
 * Writes through a temporary file in the same directory and renames it into place, so a reader never sees a
 * half-written file and a key is never readable with a wider mode, even for an instant.
 */
async function writeAtomically(path: string, content: string, mode: number): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temp, content, { mode, flag: 'wx' });
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw new InjectorError(
      ErrorCode.IoFailed,
      `cannot write ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      { cause: err },
    );
  }
}
