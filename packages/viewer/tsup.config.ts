import { libraryConfig } from '@runstream/tsup-config';

// The Node entry only: it tells the api where the built assets are. The browser bundle is
// scripts/build-assets.mjs (esbuild), into dist/assets.
export default libraryConfig(['src/index.ts']);
