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

export function appConfig() {
  return defineConfig({ ...base, entry: ['src/main.ts'] });
}
