/**
 * References resolve: every fault or bad-input ID cited in the sources, the tests and the docs (`A12`, `F6`, …)
 * is a row of docs/faults.md, and nothing cites a document that is not in this repository.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const FAULTS = readFileSync(join(ROOT, 'docs', 'faults.md'), 'utf8');
const ID = /\b[A-H][0-9]{1,2}\b/g;

/** Files git tracks (or would) under `paths`, test fixtures left out. */
function files(...paths: string[]): string[] {
  const out = execFileSync(
    'git',
    ['ls-files', '--cached', '--others', '--exclude-standard', '--', ...paths],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );
  return out
    .split('\n')
    .filter((f) => f !== '' && !f.startsWith('test/fixtures/'))
    .filter((f) => {
      try {
        readFileSync(join(ROOT, f));
        return true;
      } catch {
        return false; // deleted in the work tree
      }
    });
}

describe('docs/faults.md', () => {
  const defined = new Set([...FAULTS.matchAll(/^\| ([A-H][0-9]{1,2}) +\|/gm)].map((m) => m[1]));

  it('defines each ID once', () => {
    const rows = [...FAULTS.matchAll(/^\| ([A-H][0-9]{1,2}) +\|/gm)].map((m) => m[1]);
    expect(rows.length).toBe(defined.size);
    expect(defined.size).toBeGreaterThan(50);
  });

  it('holds every ID that code, tests and docs cite', () => {
    const missing: string[] = [];
    for (const file of files('src', 'test', 'docs', 'README.md', 'CONTRIBUTING.md')) {
      if (file === 'docs/faults.md') continue;
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const [id] of text.matchAll(ID)) if (!defined.has(id)) missing.push(`${file}: ${id}`);
    }
    expect(missing).toEqual([]);
  });

  it('is the only catalogue cited: no reference to documents outside the repository', () => {
    const foreign: string[] = [];
    for (const file of files('src', 'test', 'docs', 'bench', 'scripts', 'README.md', 'CONTRIBUTING.md')) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const [match] of text.matchAll(/BAD-INPUTS|\bDESIGN(?:\.md)?\b|\bSTYLE\b/g))
        if (file !== 'test/faults.test.ts') foreign.push(`${file}: ${match}`);
    }
    expect(foreign).toEqual([]);
  });
});
