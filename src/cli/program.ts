import { Command, CommanderError } from 'commander';
import { isInjectorError } from '../core/errors.js';
import type { RegisterCommand } from './commands.js';
import { type CliContext, ExitCode } from './context.js';

/**
 * Runs the CLI on `argv` (without node and script) and resolves to the exit code. Everything the process
 * provides comes in through `ctx`, so tests run commands in-process with their own streams and env.
 * `commands` defaults to every subcommand (COMMANDS, loaded on demand); `mtls-init` passes only its own, so a
 * pod's start never loads the webhook's or the rotator's modules (docs/using-mtls.md, "Start-up time and the
 * init container").
 */
export async function runCli(
  argv: readonly string[],
  ctx: CliContext,
  commands?: readonly RegisterCommand[],
): Promise<number> {
  const registered = commands ?? (await import('./commands.js')).COMMANDS;
  let exitCode: number = ExitCode.Ok;
  const program = new Command(ctx.invokedAs ?? 'mtls-injector')
    .description('Per-pod SPIFFE X.509 identities for mutual TLS in Kubernetes')
    .version(ctx.version, '-v, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (text) => ctx.stdout.write(text),
      writeErr: (text) => ctx.stderr.write(text),
    })
    .exitOverride();
  for (const register of registered) register(program, ctx, (code) => (exitCode = code));
  for (const command of allCommands(program)) {
    command.exitOverride();
    command.configureOutput({ writeOut: (t) => ctx.stdout.write(t), writeErr: (t) => ctx.stderr.write(t) });
  }

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    if (isInjectorError(err)) {
      ctx.stderr.write(`error: ${err.message} [${err.code}]\n`);
      return ExitCode.Failure;
    }
    throw err;
  }
  return exitCode;
}

function allCommands(command: Command): Command[] {
  return command.commands.flatMap((c) => [c, ...allCommands(c)]);
}
