import { workspaceSources } from '@runstream/vitest-config';
import { defineConfig } from 'vitest/config';

// Unit tests of the harness only; the suite itself runs as `test:faults` (a program, not vitest).
export default defineConfig({
  test: {
    projects: [{ ...workspaceSources, test: { name: 'unit', include: ['src/**/*.test.ts'] } }],
  },
});
