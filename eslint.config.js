// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import layers from './eslint-rules/layers.js';

/**
 * The rooms of src/ and what each may import (docs/design.md, "Rooms"); `kube/types.ts` alone lets the pure
 * model use the object types without an API client. Lower rooms never import higher ones.
 */
export const ROOMS = {
  core: [],
  config: ['core'],
  pki: ['core'],
  kube: ['core'],
  observability: ['core', 'config'],
  model: ['core', 'pki', 'kube/types.ts'],
  webhook: ['core', 'config', 'observability'],
  onboard: ['core', 'kube', 'observability', 'model'],
  check: ['core', 'pki', 'kube', 'model'],
  revoke: ['core', 'pki', 'kube', 'model'],
  rotator: ['core', 'config', 'pki', 'kube', 'observability', 'model'],
  cli: ['*'],
  'main.ts': ['cli'],
};

/** Packages only some rooms may import: the API client, the HTTP framework, logging, metrics, flags. */
export const PACKAGE_ROOMS = {
  '@kubernetes/client-node': ['kube'],
  fastify: ['webhook'],
  pino: ['observability', 'webhook'],
  'prom-client': ['observability', 'rotator'],
  commander: ['cli'],
};

/** Modules that do I/O, read clocks or draw randomness: forbidden in the pure rooms (core, model). */
const ioModules = [
  'node:fs',
  'node:fs/promises',
  'node:net',
  'node:tls',
  'node:http',
  'node:https',
  'node:child_process',
  'node:crypto',
  'node:worker_threads',
  'node:os',
  'fs',
  'fs/promises',
  'net',
  'tls',
  'http',
  'https',
  'child_process',
  'crypto',
  'os',
  'fastify',
  'pino',
  'prom-client',
  '@kubernetes/client-node',
];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'dist-release/**',
      'node_modules/**',
      'coverage/**',
      '.e2e/**',
      '.demo/**',
      '.tools/**',
      'charts/**',
      'manifests/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: ['*.js', '*.mjs', 'bench/*.mjs', 'scripts/*.mjs', 'scripts/*/*.mjs'],
        },
        tsconfigRootDir: import.meta.dirname,
      },
      globals: {
        process: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
        Buffer: 'readonly',
        performance: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { layers },
    rules: {
      'layers/rooms': [
        'error',
        { root: `${import.meta.dirname}/src`, rooms: ROOMS, packages: PACKAGE_ROOMS },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/main.ts', 'src/config/**'],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Only src/main.ts and src/config read process.env; take config as a parameter.',
        },
      ],
    },
  },
  {
    files: ['src/core/**/*.ts', 'src/model/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ioModules.map((name) => ({
            name,
            message: 'src/core and src/model are pure: no I/O, clocks or randomness. Pass values in.',
          })),
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'src/core and src/model are pure: pass configuration in.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Pure code: pass configuration in.' },
        { object: 'Date', property: 'now', message: 'Pure code: pass the time in.' },
        { object: 'Math', property: 'random', message: 'Pure code: pass randomness in.' },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
