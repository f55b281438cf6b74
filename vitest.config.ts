import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: two files at a time keeps argon2 and Chromium from starving each other.
    maxWorkers: 2,
    reporters: ['default'],
    // Drops the PostgreSQL schemas of the test files once they have all finished.
    globalSetup: ['test/global-setup.ts'],
  },
});
