/**
 * The two implementations of mtls-init the init tests run side by side, so they can never disagree: the
 * TypeScript `mtls-injector init` (in process) and the static Go binary built from cmd/mtls-init (the one
 * Linux pods run), built once per test file with the Go toolchain in test/tools.ts.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasTool, REPO_ROOT, TOOLS } from '../tools.js';
import { run } from './run.js';

/** What one run of mtls-init gave. */
export interface InitRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** One implementation: runs `init --dir DIR` with exactly `env` as its environment. */
export interface InitImplementation {
  readonly name: string;
  readonly run: (dir: string, env: Record<string, string>) => Promise<InitRun>;
}

/** The TypeScript command, in process. */
export const typescriptInit: InitImplementation = {
  name: 'mtls-injector init (TypeScript)',
  run: (dir, env) => run(['init', '--dir', dir], env),
};

let built: string | undefined;

/** Builds cmd/mtls-init as the Dockerfile does (static, stripped) into a temp directory; once per process. */
export function buildGoInit(): string {
  if (built !== undefined) return built;
  const out = join(mkdtempSync(join(tmpdir(), 'mtls-init-go-')), 'mtls-init');
  execFileSync(TOOLS.go, ['build', '-trimpath', '-ldflags=-s -w', '-o', out, '.'], {
    cwd: join(REPO_ROOT, 'cmd/mtls-init'),
    env: { ...process.env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOFLAGS: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  built = out;
  return out;
}

/** The Go binary, as a child process whose whole environment is `env`. */
export const goInit: InitImplementation = {
  name: 'mtls-init (Go)',
  run: (dir, env) =>
    new Promise((resolve) => {
      execFile(buildGoInit(), ['--dir', dir], { env, encoding: 'utf8' }, (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      });
    }),
};

/** Both implementations, or only the TypeScript one when Go is missing (test/global-setup.ts says so). */
export const INIT_IMPLEMENTATIONS: readonly InitImplementation[] = hasTool('go')
  ? [typescriptInit, goInit]
  : [typescriptInit];
