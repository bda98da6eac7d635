import type { Writable } from 'node:stream';

/**
 * What a subcommand gets from the entry point: the environment (only main.ts reads process.env), output
 * streams, and a signal that aborts on SIGTERM/SIGINT. A command resolves to its exit code; only main.ts exits.
 */
export interface CliContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly signal: AbortSignal;
  readonly version: string;
  /** How the user invoked us, for usage lines: `mtls-injector` (the default) or `kubectl mtls`. */
  readonly invokedAs?: string;
  /** Reads all of standard input (for `-f -`). */
  readonly readStdin: () => Promise<string>;
}

/** Exit codes shared by every subcommand. */
export const ExitCode = { Ok: 0, Failure: 1, Usage: 2 } as const;
