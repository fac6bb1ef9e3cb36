// The kit's own unit tests. Not @runstream/vitest-config: that package depends on this one for the
// suites' global setup, and a workspace cycle would follow.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { include: ['src/**/*.test.ts'], exclude: ['src/**/*.int.test.ts'] },
});
