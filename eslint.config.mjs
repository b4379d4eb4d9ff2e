import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

/** Features are the capability folders; nothing below them may import one. */
const NO_FEATURES = {
  regex: '^(\\.\\./)+(sync|realtime|backup|spaces|billing|compaction|inspect)(/|$)',
  message: 'store, config, common, http and operations code never import a feature module.',
};

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      '.data/**',
      'bench/results/**',
      'packages/*/dist/**',
      'packages/client/src/generated/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-console': ['error', { allow: ['error', 'warn'] }],
    },
  },
  {
    // Operations code (metrics, health, logging, limits), the HTTP adapters, the OpenAPI pieces, the store, config and common are leaves: features register with them, never the reverse.
    files: ['src/{metrics,health,logging,limits,http,openapi}/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NO_FEATURES] }] },
  },
  {
    // The store, config and common sit below auth and the HTTP adapters, too.
    files: ['src/{store,config,common}/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            NO_FEATURES,
            {
              regex: '^(\\.\\./)+(auth|http)(/|$)',
              message: 'store, config and common never import auth or http (the HTTP adapters).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['jest.config.js', 'test/support/jest-resolver.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { module: 'writable', require: 'readonly', __dirname: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['packages/client/scripts/**'],
    languageOptions: { globals: { fetch: 'readonly' } },
    rules: { 'no-console': 'off' },
  },
  {
    files: ['test/**', 'bench/**', '**/*.spec.ts'],
    // Tests read JSON answers loosely on purpose.
    rules: { 'no-console': 'off', '@typescript-eslint/no-explicit-any': 'off' },
  },
);
