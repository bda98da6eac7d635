// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Modules that do I/O, read clocks or draw randomness: forbidden in the pure core. */
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
    files: ['src/pki/**/*.ts', 'src/kube/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../webhook/*', '../rotator/*', '../cli/*'],
              message: 'pki and kube are leaves: they import core only.',
            },
          ],
        },
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
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ioModules.map((name) => ({
            name,
            message: 'src/core is pure: no I/O, clocks or randomness. Pass values in.',
          })),
          patterns: [
            {
              group: [
                '../pki/*',
                '../kube/*',
                '../webhook/*',
                '../rotator/*',
                '../cli/*',
                '../observability/*',
              ],
              message: 'src/core imports nothing outside core.',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'src/core is pure: pass configuration in.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'src/core is pure: pass configuration in.' },
        { object: 'Date', property: 'now', message: 'src/core is pure: pass the time in.' },
        { object: 'Math', property: 'random', message: 'src/core is pure: pass randomness in.' },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
