import { envName, FIELDS, type FieldKind, flagName } from '../../src/config/schema.js';

/** docs/configuration.md, generated from the schema so the two cannot drift (docs.test.ts compares them). */
export function configurationMarkdown(): string {
  const rows = FIELDS.map(
    (f) =>
      `| \`${f.key}\` | \`${flagName(f.key)}\` | \`${envName(f.key)}\` | ${kindText(f.kind)} | \`${String(f.default) === '' ? '""' : String(f.default)}\` | ${f.description.replace(/\|/g, '\\|')} |`,
  );
  return [
    '# Configuration',
    '',
    'Generated from `src/config/schema.ts` (`UPDATE_DOCS=1 npx vitest run test/config` rewrites it).',
    '',
    'Every setting can come from a flag, an environment variable, or a key of the YAML/JSON file given by',
    '`--config FILE` (or `MTLS_INJECTOR_CONFIG`), nested by the dots of its key. Later sources win:',
    'defaults < file < environment < flags. All problems are reported together, each naming the setting, where',
    'it came from and what was expected. Durations take `s`, `m`, `h`, `d` units (`90s`, `1h30m`) or seconds.',
    '',
    "`check`, `onboard` and `ca rotate` first read the installed settings from the cluster (the chart's config",
    'ConfigMap), between the defaults and the file, and report every flag, variable or file setting the',
    'installation disagrees on ([check.md](check.md#the-installations-settings)).',
    '',
    '| key | flag | env | type | default | description |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

function kindText(kind: FieldKind): string {
  switch (kind.type) {
    case 'string':
      return kind.hint ?? 'string';
    case 'integer':
      return `integer ${kind.min}–${kind.max}`;
    case 'fraction':
      return `number ${kind.min}–${kind.max}`;
    case 'duration':
      return `duration ${kind.minSeconds}s–${kind.maxSeconds}s`;
    case 'boolean':
      return 'boolean';
    case 'enum':
      return kind.values.join(' \\| ');
  }
}
