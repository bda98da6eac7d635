import type { Command } from 'commander';
import { registerCa } from './ca.js';
import type { CliContext } from './context.js';

/** A subcommand registers itself on the root program; its action sets the exit code through `done`. */
export type RegisterCommand = (program: Command, ctx: CliContext, done: (code: number) => void) => void;

/** Every subcommand, in the order `--help` lists them. Each lives in its own file under src/cli/. */
export const COMMANDS: readonly RegisterCommand[] = [registerCa];
