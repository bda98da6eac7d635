/**
 * The non-npm tools some suites run for real (helm, kubectl, promtool, nginx), installed under .tools/bin by
 * `bash scripts/setup-tools.sh`, and the Go toolchain that builds cmd/mtls-init (at /usr/local/go, or $GO). A suite that needs a missing tool is registered as skipped; the one warning
 * that says so comes from test/global-setup.ts, once per run, not once per test file.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe } from 'vitest';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The tools, by name, and where the suites expect them. */
export const TOOLS = {
  helm: resolve(REPO_ROOT, '.tools/bin/helm'),
  kubectl: resolve(REPO_ROOT, '.tools/bin/kubectl'),
  promtool: resolve(REPO_ROOT, '.tools/bin/promtool'),
  nginx: resolve(REPO_ROOT, '.tools/bin/nginx'),
  go: process.env['GO'] ?? '/usr/local/go/bin/go',
} as const;

export type ToolName = keyof typeof TOOLS;

/** True when the tool is installed where the suites look for it. */
export function hasTool(name: ToolName): boolean {
  return existsSync(TOOLS[name]);
}

/** The tools that are not installed. */
export function missingTools(): ToolName[] {
  return (Object.keys(TOOLS) as ToolName[]).filter((name) => !hasTool(name));
}

/**
 * `describe` for a suite that needs `tools` (and whatever else `ready` says). vitest runs the body of a
 * `describe.skipIf` suite anyway, to collect its tests, and these suites do real work at collection time; so
 * without the tools the suite is registered as skipped and its body never runs.
 */
export function describeWithTools(
  tools: readonly ToolName[],
  name: string,
  body: () => void,
  ready = true,
): void {
  if (ready && tools.every(hasTool)) describe(name, body);
  else describe.skip(`${name} (needs ${tools.join(', ')})`, () => undefined);
}
