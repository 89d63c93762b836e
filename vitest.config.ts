import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: [
      'collector/**/*.test.ts',
      'tracker/**/*.test.ts',
      'dashboard/**/*.test.ts',
      'scripts/**/*.test.ts',
      'load-tests/**/*.test.ts',
    ],
    globalSetup: ['collector/test/global-setup.ts'],
    // Each test file runs in its own process: the embedded engine is one per process.
    pool: 'forks',
    isolate: true,
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
})
