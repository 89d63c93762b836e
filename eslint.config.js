// @ts-check
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'data/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // The edge entries run without Node: no Node module may be imported here (the bundle
    // test, scripts/build-edge.test.ts, checks everything they reach, not only this folder).
    files: ['collector/src/edge/**/*.ts'],
    ignores: ['collector/src/edge/**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'The edge entries run without Node.' },
            {
              group: [
                'chdb',
                'chdb/*',
                '@hono/node-server',
                '@hono/node-server/*',
                'maxmind',
                '@node-rs/*',
              ],
              message: 'Node-only package: the edge entries run without Node.',
            },
            {
              regex: '^@clickhouse/client$',
              message: 'The edge uses @clickhouse/client-web (edge/store.ts).',
            },
            {
              group: [
                '../collector.js',
                '../app.js',
                '../config.js',
                '../geo-reader.js',
                '../store/client.js',
                '../store/migrate.js',
                '../store/insert.js',
              ],
              message:
                'Node side of the collector; the edge has its own (edge/collector.ts, store.ts).',
            },
          ],
        },
      ],
    },
  },
  { files: ['**/*.js', '**/*.mjs'], extends: [tseslint.configs.disableTypeChecked] },
  {
    files: ['scripts/**/*.mjs'],
    languageOptions: { globals: { console: 'readonly', process: 'readonly', URL: 'readonly' } },
  },
)
