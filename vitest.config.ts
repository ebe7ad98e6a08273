// Vitest settings: generous per-test limits, since the 2-core CI machine runs two test files at once and a limit
// here only guards against hangs (speed is measured in bench/, never asserted).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
