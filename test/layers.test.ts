/**
 * The rooms of src/ (docs/design.md) are enforced: probe files that break a rule are linted with the
 * project's own ESLint configuration and must be rejected, at any depth of a room; allowed imports must pass.
 * Type-aware rules are switched off for the probes (they are not on disk); every other rule applies as
 * configured.
 */
import { join } from 'node:path';
import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');

/** The project's flat config and its rooms table (a plain .js module, loaded by URL). */
const { default: config, ROOMS } = (await import(new URL('../eslint.config.js', import.meta.url).href)) as {
  default: Linter.Config[];
  ROOMS: Record<string, readonly string[]>;
};

const eslint = new ESLint({
  cwd: ROOT,
  overrideConfigFile: true,
  overrideConfig: [
    ...config,
    { files: ['**/*.ts'], ...(tseslint.configs.disableTypeChecked as Linter.Config) },
  ],
});

/** The messages of the rooms and purity rules for `code` as if it were the file `path`. */
async function problems(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, path) });
  return (result?.messages ?? [])
    .filter((m) =>
      ['layers/rooms', 'no-restricted-imports', 'no-restricted-properties', 'no-restricted-globals'].includes(
        m.ruleId ?? '',
      ),
    )
    .map((m) => `${m.ruleId ?? ''}: ${m.message}`);
}

describe('rooms', () => {
  it.each([
    // A nested core file reaching the crypto room: the case the old patterns let through.
    [
      'src/core/policy/probe.ts',
      "import { loadCa } from '../../pki/ca.js';\nvoid loadCa;",
      /src\/core may not import src\/pki\/ca\.ts/,
    ],
    [
      'src/core/probe.ts',
      "import type { Config } from '../config/schema.js';\nexport type C = Config;",
      /core may not import src\/config/,
    ],
    [
      'src/core/mutate/deep/probe.ts',
      "export { decide } from '../../policy/decide.js';\nexport * from '../../../kube/types.js';",
      /core may not import src\/kube\/types\.ts/,
    ],
    [
      'src/pki/probe.ts',
      "import { runOnboard } from '../onboard/run.js';\nvoid runOnboard;",
      /pki may not import src\/onboard\/run\.ts/,
    ],
    [
      'src/check/probe.ts',
      "import { RotatorController } from '../rotator/controller.js';\nvoid RotatorController;",
      /check may not import src\/rotator/,
    ],
    [
      'src/rotator/probe.ts',
      "import { createAutoOnboarder } from '../onboard/auto.js';\nvoid createAutoOnboarder;",
      /rotator may not import src\/onboard/,
    ],
    [
      'src/model/probe.ts',
      "import { createSecretApi } from '../kube/secrets.js';\nvoid createSecretApi;",
      /model may not import src\/kube\/secrets\.ts/,
    ],
    [
      'src/webhook/probe.ts',
      "import { readCaSecret } from '../model/ca-secret.js';\nvoid readCaSecret;",
      /webhook may not import src\/model/,
    ],
    [
      'src/onboard/probe.ts',
      "const m = await import('../rotator/start.js');\nvoid m;",
      /onboard may not import src\/rotator\/start\.ts/,
    ],
    [
      'src/kube/probe.ts',
      "import { startRotator } from '../rotator/start.js';\nvoid startRotator;",
      /kube may not import src\/rotator/,
    ],
    [
      'src/main.ts',
      "import { startWebhookServer } from './webhook/server.js';\nvoid startWebhookServer;",
      /main\.ts may not import src\/webhook/,
    ],
    [
      'src/rotator/probe.ts',
      "import { makeInformer } from '@kubernetes/client-node';\nvoid makeInformer;",
      /may not import @kubernetes\/client-node: only kube may/,
    ],
    ['src/check/probe.ts', "import fastify from 'fastify';\nvoid fastify;", /may not import fastify/],
    [
      'src/attic/probe.ts',
      "import { MANAGED_LABEL } from '../core/names.js';\nvoid MANAGED_LABEL;",
      /src\/attic is not a room/,
    ],
  ])('rejects %s importing what its room may not', async (path, code, expected) => {
    const found = await problems(path, code);
    expect(
      found.some((m) => expected.test(m)),
      found.join('\n') || 'no problem reported',
    ).toBe(true);
  });

  it('keeps core and model pure at any depth', async () => {
    expect(
      await problems(
        'src/model/deep/probe.ts',
        "import { readFileSync } from 'node:fs';\nvoid readFileSync;",
      ),
    ).toEqual([expect.stringMatching(/no-restricted-imports: .*pure/)]);
    expect(await problems('src/core/manifest/probe.ts', 'export const t = Date.now();')).toEqual([
      expect.stringMatching(/no-restricted-properties: .*time/),
    ]);
  });

  it.each([
    ['src/rotator/deep/probe.ts', "import { isInjected } from '../../model/pods.js';\nvoid isInjected;"],
    ['src/model/probe.ts', "import type { PodObject } from '../kube/types.js';\nexport type P = PodObject;"],
    ['src/check/probe.ts', "import { signedBy } from '../pki/x509.js';\nvoid signedBy;"],
    [
      'src/cli/probe.ts',
      "import { startRotator } from '../rotator/start.js';\nimport { Command } from 'commander';\nvoid startRotator;\nvoid Command;",
    ],
    ['src/kube/probe.ts', "import { makeInformer } from '@kubernetes/client-node';\nvoid makeInformer;"],
    ['src/core/policy/probe.ts', "import { OPT_IN_LABEL } from '../names.js';\nvoid OPT_IN_LABEL;"],
  ])('allows %s its own room and the rooms below it', async (path, code) => {
    expect(await problems(path, code)).toEqual([]);
  });

  it('names every folder of src/ in the rooms table', async () => {
    const { readdirSync } = await import('node:fs');
    const entries = readdirSync(join(ROOT, 'src'), { withFileTypes: true }).map((e) => e.name);
    expect(entries.filter((e) => !(e in ROOMS))).toEqual([]);
  });
});
