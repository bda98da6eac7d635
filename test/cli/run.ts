import { PassThrough } from 'node:stream';
import { runCli } from '../../src/cli/program.js';

/** Runs the CLI in-process with its own env and captured output. */
export async function run(
  argv: readonly string[],
  env: Record<string, string | undefined> = {},
  stdin = '',
): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await runCli(argv, {
    env,
    stdout,
    stderr,
    signal: new AbortController().signal,
    version: '0.0.0-test',
    readStdin: () => Promise.resolve(stdin),
  });
  return { code, stdout: out, stderr: err };
}
