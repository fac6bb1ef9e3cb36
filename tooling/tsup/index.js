// One tsup layout for every package: ESM for Node 20 with source maps, a clean dist each build.
// Libraries also emit declarations; apps are bundles that nothing imports.
import { defineConfig } from 'tsup';

const base = { format: ['esm'], sourcemap: true, clean: true, target: 'node20' };

/**
 * @param {string[]} entry
 * @param {import('tsup').Options} [overrides]
 */
export function libraryConfig(entry, overrides = {}) {
  return defineConfig({ ...base, entry, dts: true, ...overrides });
}

// The packages another team's CommonJS project may require() (the client and what it loads): the
// same entries twice, `.js` + `.d.ts` for import and `.cjs` + `.d.cts` for require, so that each
// resolution mode finds types written for it (a `.d.ts` read as CommonJS is TS1479).
/**
 * @param {string[]} entry
 * @param {import('tsup').Options} [overrides]
 */
export function dualLibraryConfig(entry, overrides = {}) {
  return libraryConfig(entry, { format: ['esm', 'cjs'], ...overrides });
}

export function appConfig() {
  return defineConfig({ ...base, entry: ['src/main.ts'] });
}
