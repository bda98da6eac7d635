/**
 * `npm run release` (scripts/release.sh) for real: builds every artifact into a temporary directory, then
 * installs the npm package into a temporary prefix and runs it from another directory, as a user would
 * (`mtls-injector --version`, and `kubectl mtls --help` through the real kubectl's plugin lookup), renders
 * the packaged chart with helm, and checks SHA256SUMS with sha256sum.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithTools, REPO_ROOT, TOOLS } from '../tools.js';

const pkg = JSON.parse(readFileSync(resolve(REPO_ROOT, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync(resolve(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { dev?: boolean }>;
};
/** devDependencies that nothing at runtime needs (package-lock.json marks them dev). */
const devOnly = Object.keys(pkg.devDependencies).filter((d) => lock.packages[`node_modules/${d}`]?.dev);
const V = pkg.version;
const work = mkdtempSync(join(tmpdir(), 'mtls-release-'));
const out = join(work, 'out');
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(cmd: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const r: SpawnSyncReturns<string> = spawnSync(cmd, [...args], {
    encoding: 'utf8',
    cwd: options.cwd ?? REPO_ROOT,
    env: options.env ?? process.env,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, output: `${r.stdout}${r.stderr}` };
}

/** A minimal OCI image layout (no manifests yet) standing in for one of the image build's archives. */
function ociArchive(name: string): string {
  const layout = join(work, `layout-${name}`);
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  // The name in the index keeps the two stand-ins apart, so a swapped copy fails the comparison below.
  writeFileSync(
    join(layout, 'index.json'),
    `{"schemaVersion":2,"manifests":[],"annotations":{"name":"${name}"}}`,
  );
  const archive = join(work, `${name}.oci.tar`);
  expect(run('tar', ['-cf', archive, '-C', layout, 'oci-layout', 'index.json', 'blobs']).status).toBe(0);
  return archive;
}

function release(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  return run('bash', ['scripts/release.sh', '--out', out, ...args], { env: { ...process.env, ...env } });
}

describeWithTools(['helm', 'kubectl'], 'npm run release', () => {
  let archive: string;
  let initArchive: string;
  let built: ReturnType<typeof run>;
  beforeAll(() => {
    archive = ociArchive('mtls-injector');
    initArchive = ociArchive('mtls-init');
    built = release(['--require-image'], {
      RELEASE_IMAGE_ARCHIVE: archive,
      RELEASE_INIT_IMAGE_ARCHIVE: initArchive,
    });
  }, 300_000);

  it('builds the npm package, the chart, the manifests, the dashboard, the two image archives and SHA256SUMS', () => {
    expect(built.status, built.output).toBe(0);
    const sums = readFileSync(join(out, 'SHA256SUMS'), 'utf8');
    const listed = sums
      .trim()
      .split('\n')
      .map((line) => line.split(/\s+/)[1]);
    expect(listed).toEqual([
      'chart/mtls-injector-' + V + '.tgz',
      'dashboards/mtls-injector.json',
      'image/mtls-init-' + V + '.oci.tar',
      'image/mtls-injector-' + V + '.oci.tar',
      'manifests/mtls-injector.yaml',
      'npm/mtls-injector-' + V + '.tgz',
    ]);
    const check = run('sha256sum', ['-c', 'SHA256SUMS'], { cwd: out });
    expect(check.status, check.output).toBe(0);
    expect(check.stdout.match(/: OK$/gm)).toHaveLength(6);
    expect(readFileSync(join(out, 'manifests/mtls-injector.yaml'), 'utf8')).toBe(
      readFileSync(resolve(REPO_ROOT, 'manifests/mtls-injector.yaml'), 'utf8'),
    );
    expect(readFileSync(join(out, `image/mtls-injector-${V}.oci.tar`))).toEqual(readFileSync(archive));
    expect(readFileSync(join(out, `image/mtls-init-${V}.oci.tar`))).toEqual(readFileSync(initArchive));
  });

  it('installs the npm package into a prefix; mtls-injector and kubectl mtls work from another directory', () => {
    const prefix = join(work, 'prefix');
    const elsewhere = mkdtempSync(join(work, 'elsewhere-'));
    const install = run(
      'npm',
      [
        'install',
        '-g',
        '--prefix',
        prefix,
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        join(out, `npm/mtls-injector-${V}.tgz`),
      ],
      { cwd: elsewhere },
    );
    expect(install.status, install.output).toBe(0);

    // Only the prefix's bin and the running node on PATH: nothing from the repository can be picked up.
    const env = {
      HOME: elsewhere,
      PATH: [join(prefix, 'bin'), dirname(process.execPath), '/usr/bin', '/bin'].join(delimiter),
    };
    const version = run('mtls-injector', ['--version'], { cwd: elsewhere, env });
    expect(version.status, version.output).toBe(0);
    expect(version.stdout.trim()).toBe(V);

    const plugin = run(TOOLS.kubectl, ['mtls', '--help'], { cwd: elsewhere, env });
    expect(plugin.status, plugin.output).toBe(0);
    // kubectl runs the plugin as kubectl-mtls: its usage names the command as the user typed it.
    expect(plugin.stdout).toContain('Usage: kubectl mtls [options] [command]');
    for (const command of ['check', 'onboard', 'inject', 'ca'])
      expect(plugin.stdout).toContain(`  ${command}`);

    // The runtime dependencies, and no devDependencies. (npm reads the shipped npm-shrinkwrap.json only for
    // packages from a registry; from a local tarball it resolves the ranges in package.json afresh.)
    const installed = join(prefix, 'lib/node_modules/mtls-injector');
    const present = (dep: string) => existsSync(join(installed, 'node_modules', dep, 'package.json'));
    for (const dep of Object.keys(pkg.dependencies)) expect(present(dep), dep).toBe(true);
    expect(devOnly).toContain('vitest');
    for (const dev of devOnly) expect(present(dev), dev).toBe(false);
    expect(existsSync(join(installed, 'npm-shrinkwrap.json'))).toBe(true);
    expect(existsSync(join(installed, 'src'))).toBe(false);
    // npm resolves and installs the runtime dependencies: its own pace on a shared machine, like the build above
  }, 300_000);

  it('packages a chart that lints and renders exactly like charts/mtls-injector', () => {
    const tgz = join(out, `chart/mtls-injector-${V}.tgz`);
    const shown = run(TOOLS.helm, ['show', 'chart', tgz]);
    expect(shown.stdout).toMatch(new RegExp(`^version: ${V.replaceAll('.', '\\.')}$`, 'm'));
    expect(run(TOOLS.helm, ['lint', '--strict', tgz]).status).toBe(0);
    const everything = [
      '--set',
      'prometheusRule.enabled=true',
      '--set',
      'grafanaDashboard.enabled=true',
      '--set',
      'serviceMonitor.enabled=true',
    ];
    for (const set of [[], everything]) {
      const fromTgz = run(TOOLS.helm, ['template', 'mtls-injector', tgz, '-n', 'mtls-injector', ...set]);
      const fromDir = run(TOOLS.helm, [
        'template',
        'mtls-injector',
        'charts/mtls-injector',
        '-n',
        'mtls-injector',
        ...set,
      ]);
      expect(fromTgz.status, fromTgz.output).toBe(0);
      expect(fromTgz.stdout).toBe(fromDir.stdout);
    }
  });

  it('refuses an image archive that is not an OCI layout, and --require-image without both', () => {
    const notOci = join(work, 'not-oci.tar');
    expect(run('tar', ['-cf', notOci, '-C', REPO_ROOT, 'LICENSE']).status).toBe(0);
    const bad = release([], { RELEASE_IMAGE_ARCHIVE: notOci, RELEASE_INIT_IMAGE_ARCHIVE: '' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain(`RELEASE_IMAGE_ARCHIVE=${notOci} is not an OCI image-layout archive`);
    const badInit = release([], { RELEASE_IMAGE_ARCHIVE: '', RELEASE_INIT_IMAGE_ARCHIVE: notOci });
    expect(badInit.status).toBe(1);
    expect(badInit.stderr).toContain(
      `RELEASE_INIT_IMAGE_ARCHIVE=${notOci} is not an OCI image-layout archive`,
    );
    const missing = release(['--require-image'], {
      RELEASE_IMAGE_ARCHIVE: '',
      RELEASE_INIT_IMAGE_ARCHIVE: '',
    });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain(
      '--require-image: pass --image (build both) or set RELEASE_IMAGE_ARCHIVE and RELEASE_INIT_IMAGE_ARCHIVE',
    );
    expect(missing.stderr).toContain('(missing: RELEASE_IMAGE_ARCHIVE RELEASE_INIT_IMAGE_ARCHIVE)');
    // One of the two is not enough.
    const onlyProduct = release(['--require-image'], {
      RELEASE_IMAGE_ARCHIVE: ociArchive('product-only'),
      RELEASE_INIT_IMAGE_ARCHIVE: '',
    });
    expect(onlyProduct.status).toBe(1);
    expect(onlyProduct.stderr).toContain('(missing: RELEASE_INIT_IMAGE_ARCHIVE)');
  });
});
