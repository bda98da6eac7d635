import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, InjectorError } from '../../src/core/errors.js';
import { loadKubeConfig } from '../../src/kube/client.js';
import { run } from '../cli/run.js';

const dir = mkdtempSync(join(tmpdir(), 'mtls-kubeconfig-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A made-up credential: it must never appear in an error message. */
const TOKEN = 'sekrit-token-do-not-print';

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function kubeconfig(context: string, server: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    `current-context: ${context}`,
    'clusters:',
    `- name: ${context}`,
    `  cluster: { server: "${server}" }`,
    'users:',
    `- name: ${context}`,
    `  user: { token: ${TOKEN} }`,
    'contexts:',
    `- name: ${context}`,
    `  context: { cluster: ${context}, user: ${context} }`,
    '',
  ].join('\n');
}

function thrown(fn: () => unknown): InjectorError {
  try {
    fn();
  } catch (err) {
    if (err instanceof InjectorError) return err;
    throw err;
  }
  throw new Error('expected an InjectorError, nothing was thrown');
}

describe('loadKubeConfig', () => {
  it('loads a kubeconfig file and its current cluster', () => {
    const kc = loadKubeConfig(file('ok.yaml', kubeconfig('a', 'https://a.example:6443')));
    expect(kc.getCurrentCluster()?.server).toBe('https://a.example:6443');
  });

  it('merges a $KUBECONFIG-style list as kubectl does: first file wins the context, missing files are skipped', () => {
    const a = file('a.yaml', kubeconfig('a', 'https://a.example:6443'));
    const b = file('b.yaml', kubeconfig('b', 'https://b.example:6443'));
    const kc = loadKubeConfig([join(dir, 'absent.yaml'), a, b].join(delimiter));
    expect(kc.getCurrentCluster()?.name).toBe('a');
    expect(kc.getContexts().map((c) => c.name)).toEqual(['a', 'b']);
  });

  it('names a missing file and says what to do (MTLS_ERR_KUBE_CONFIG_MISSING)', () => {
    const missing = join(dir, 'nope.yaml');
    const err = thrown(() => loadKubeConfig(missing));
    expect(err.code).toBe(ErrorCode.KubeConfigMissing);
    expect(err.message).toContain(
      `kubeconfig file ${missing} (from --kubeconfig or $KUBECONFIG) does not exist`,
    );
    expect(err.message).toContain('fix the path, or unset it to use ~/.kube/config');
  });

  it('says when none of a list of files exists', () => {
    const list = [join(dir, 'x.yaml'), join(dir, 'y.yaml')].join(delimiter);
    const err = thrown(() => loadKubeConfig(list));
    expect(err.code).toBe(ErrorCode.KubeConfigMissing);
    expect(err.message).toContain(`none of the kubeconfig files in ${list}`);
  });

  it('refuses YAML that does not parse with the line number, never the content', () => {
    const path = file('broken.yaml', `users:\n- name: u\n  user: { token: ${TOKEN}\n`);
    const err = thrown(() => loadKubeConfig(path));
    expect(err.code).toBe(ErrorCode.KubeConfigInvalid);
    expect(err.message).toMatch(new RegExp(`^kubeconfig ${path} is not valid YAML \\(line \\d+\\)`));
    expect(err.message).not.toContain(TOKEN);
  });

  it('refuses a file that is not a kubeconfig, a directory, and one without a current context', () => {
    const shape = thrown(() => loadKubeConfig(file('shape.yaml', 'clusters:\n- name: x\n')));
    expect(shape.code).toBe(ErrorCode.KubeConfigInvalid);
    expect(shape.message).toContain('(clusters[0].cluster is missing)');

    const directory = thrown(() => loadKubeConfig(dir));
    expect(directory.code).toBe(ErrorCode.KubeConfigInvalid);
    expect(directory.message).toContain('cannot be read (EISDIR)');

    const noContext = file(
      'no-context.yaml',
      kubeconfig('a', 'https://a.example').replace(/^current-context: a$/m, ''),
    );
    const err = thrown(() => loadKubeConfig(noContext));
    expect(err.code).toBe(ErrorCode.KubeConfigInvalid);
    expect(err.message).toContain('has no usable current context');
    expect(err.message).toContain(`kubectl --kubeconfig ${noContext} config use-context NAME`);
  });
});

describe('the CLI without a usable kubeconfig', () => {
  const saved = { HOME: process.env['HOME'], KUBECONFIG: process.env['KUBECONFIG'] };
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('reports a missing --kubeconfig file in one line with its code, exit 1', async () => {
    const missing = join(dir, 'missing.yaml');
    const r = await run(['check', '--kubeconfig', missing]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `error: kubeconfig file ${missing} (from --kubeconfig or $KUBECONFIG) does not exist; expected the path ` +
        'of a kubeconfig: fix the path, or unset it to use ~/.kube/config [MTLS_ERR_KUBE_CONFIG_MISSING]\n',
    );
    expect(r.stdout).toBe('');
  });

  // client-node's default chain reads $HOME and $KUBECONFIG from the process; this file runs in its own
  // worker, so pointing HOME at an empty directory here affects nothing else.
  // Inside a pod with a service account token the default chain finds the cluster: nothing to test there.
  const inPod = existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token');
  const commands = [['check'], ['onboard', '-n', 'shop'], ['ca', 'rotate', 'status']];
  it.skipIf(inPod).each(commands.map((argv) => [argv.join(' '), argv] as const))(
    '%s with no kubeconfig anywhere says what is missing instead of trying http://localhost:8080',
    async (_name, argv) => {
      process.env['HOME'] = mkdtempSync(join(dir, 'home-'));
      delete process.env['KUBECONFIG'];
      const r = await run(argv);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error: no kubeconfig found: .*\[MTLS_ERR_KUBE_CONFIG_MISSING\]\n$/);
      expect(r.stderr).toContain('point --kubeconfig or $KUBECONFIG at');
      expect(r.stderr + r.stdout).not.toContain('skipTLSVerify');
    },
  );
});
