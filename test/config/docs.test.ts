import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configurationMarkdown } from './configuration-doc.js';
import { FIELDS } from '../../src/config/schema.js';

const path = new URL('../../docs/configuration.md', import.meta.url);

describe('docs/configuration.md', () => {
  it('is the one generated from the schema (UPDATE_DOCS=1 rewrites it)', () => {
    const expected = configurationMarkdown();
    if (process.env.UPDATE_DOCS === '1') writeFileSync(path, expected);
    expect(readFileSync(path, 'utf8')).toBe(expected);
  });

  it('lists every setting', () => {
    const text = configurationMarkdown();
    for (const field of FIELDS) expect(text).toContain(`| \`${field.key}\` |`);
  });
});
