import { registerInit } from './init.js';
import type { CliContext } from './context.js';
import { runCli } from './program.js';

/**
 * The init container's command (`mtls-injector init`) with only what it needs: the CLI runner and the init
 * command, nothing of the webhook, the rotator or the other commands. `npm run build` bundles this module and
 * everything it imports into this one file (scripts/bundle-init.mjs), so a pod's start reads and compiles one
 * file instead of about forty (docs/using-mtls.md, "Start-up time and the init container").
 */
export function runInit(argv: readonly string[], ctx: CliContext): Promise<number> {
  return runCli(argv, ctx, [registerInit]);
}
