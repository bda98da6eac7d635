import type { Command } from 'commander';
import { registerCa } from './ca.js';
import { registerCaRotate } from './ca-rotate.js';
import { registerCheck } from './check.js';
import type { CliContext } from './context.js';
import { registerInit } from './init.js';
import { registerInject } from './inject.js';
import { registerOnboard } from './onboard.js';
import { registerRevoke } from './revoke.js';
import { registerRotator } from './rotator.js';
import { registerUnregister } from './unregister.js';
import { registerWebhook } from './webhook.js';

/** A subcommand registers itself on the root program; its action sets the exit code through `done`. */
export type RegisterCommand = (program: Command, ctx: CliContext, done: (code: number) => void) => void;

/** Every subcommand, in the order `--help` lists them. Each lives in its own file under src/cli/. */
export const COMMANDS: readonly RegisterCommand[] = [
  registerWebhook,
  registerInject,
  registerRotator,
  registerInit,
  registerCa,
  registerCaRotate,
  registerCheck,
  registerOnboard,
  registerRevoke,
  registerUnregister,
];
