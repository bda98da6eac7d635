import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// mtls-init runs on every injected pod's start, and module loading is most of its CPU: `main.ts` loads only
// `cli/init-entry.ts` for it (bundled into one file by `npm run build`). This walks the static (runtime) imports from there and checks none of the heavy
// packages the webhook, rotator and CLI need is reached (docs/using-mtls.md, "Start-up time and the init
// container").
const SRC = fileURLToPath(new URL('../../src', import.meta.url));
// zod and yaml: about 45 and 20 ms of CPU to load, more than the rest of mtls-init's own work (npm run bench:init).
const HEAVY = [
  '@kubernetes/client-node',
  'fastify',
  'pino',
  'prom-client',
  'ajv',
  'fast-json-patch',
  'zod',
  'yaml',
];

/** Runtime imports of a source file: `import … from 'x'` and `export … from 'x'`, not `import type`. */
function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?from\s+'([^']+)';/gms)) {
    if (m[1] === undefined && m[2] !== undefined) found.push(m[2]);
  }
  for (const m of text.matchAll(/^import\s+'([^']+)';/gm)) if (m[1] !== undefined) found.push(m[1]);
  return found;
}

/** Every package and source file reachable from `entry` through runtime imports. */
function reachable(entry: string): { packages: Set<string>; files: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of runtimeImports(file)) {
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else if (!spec.startsWith('node:'))
        packages.add(
          spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? spec),
        );
    }
  };
  visit(entry);
  return { packages, files };
}

describe('the mtls-init entry', () => {
  it('loads none of the packages of the webhook, the rotator or the API client', () => {
    const { packages, files } = reachable(join(SRC, 'cli/init-entry.ts'));
    expect([...packages].filter((p) => HEAVY.includes(p))).toEqual([]);
    expect(
      [...files].map((f) => relative(SRC, f)).filter((f) => /^(kube|webhook|rotator)\//.test(f)),
    ).toEqual([]);
  });

  it('is what main.ts runs for `init`, without loading the other commands', () => {
    const main = readFileSync(join(SRC, 'main.ts'), 'utf8');
    expect(main).toMatch(
      /if \(argv\[0\] === 'init'\) return await \(await import\('\.\/cli\/init-entry\.js'\)\)\.runInit\(argv, ctx\);/,
    );
    // Everything main.ts loads at start: no command module, not even the CLI runner (commander).
    const { files, packages } = reachable(join(SRC, 'main.ts'));
    expect([...files].map((f) => relative(SRC, f)).filter((f) => f !== 'main.ts')).toEqual([
      'cli/context.ts',
    ]);
    expect([...packages]).toEqual([]);
    // The init entry registers the init command alone.
    expect(runtimeImports(join(SRC, 'cli/init-entry.ts'))).toEqual(['./init.js', './program.js']);
  });

  it('would notice a heavy import (the walk is not vacuous)', () => {
    const { packages } = reachable(join(SRC, 'cli/commands.ts'));
    expect(packages).toContain('@kubernetes/client-node');
    expect(packages).toContain('fastify');
  });
});
