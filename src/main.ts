#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { COMMANDS } from './cli/commands.js';
import { type CliContext, ExitCode } from './cli/context.js';
import { isInjectorError } from './core/errors.js';

/** The entry point: argv → command → exit code. The only place that reads process.env or exits. */
async function main(argv: readonly string[]): Promise<number> {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);

  const ctx: CliContext = {
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    signal: abort.signal,
    version: pkg.version,
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
  };

  let exitCode: number = ExitCode.Ok;
  const program = new Command('mtls-injector')
    .description('Per-pod SPIFFE X.509 identities for mutual TLS in Kubernetes')
    .version(pkg.version, '-v, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of COMMANDS) register(program, ctx, (code) => (exitCode = code));

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    if (isInjectorError(err)) {
      ctx.stderr.write(`error: ${err.message} [${err.code}]\n`);
      return ExitCode.Failure;
    }
    throw err;
  }
  return exitCode;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = ExitCode.Failure;
  },
);
