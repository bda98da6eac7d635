/** The shape of src/: small modules, a reason at the top of any that is not. */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const MAX_LINES = 300;

function sources(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(folder, e.name)) : e.name.endsWith('.ts') ? [join(folder, e.name)] : [],
  );
}

describe('src/', () => {
  it(`has no file over ${MAX_LINES} lines without "Over ${MAX_LINES} lines:" and a reason in its opening comment`, () => {
    const unexplained = sources(join(ROOT, 'src'))
      .map((path) => ({ path: relative(ROOT, path), text: readFileSync(path, 'utf8') }))
      .filter(({ text }) => text.split('\n').length > MAX_LINES)
      .filter(({ text }) => {
        const opening = /^\s*\/\*\*?([\s\S]*?)\*\//.exec(text)?.[1] ?? '';
        return !/Over 300 lines: \S/.test(opening);
      })
      .map(({ path }) => path);
    expect(unexplained).toEqual([]);
  });
});
