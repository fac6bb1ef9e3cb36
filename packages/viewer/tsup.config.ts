import { defineConfig } from 'tsup';

// The Node entry only: it tells the api where the built assets are. The browser bundle is
// scripts/build-assets.mjs (esbuild), into dist/assets.
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
