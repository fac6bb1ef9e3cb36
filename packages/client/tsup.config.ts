import { dualLibraryConfig, libraryConfig } from '@runstream/tsup-config';

// The library for import and require; the `runstream` bin as an ES module only (it uses top-level
// await). The two builds run at once into dist/, so each cleans everything but the other's files.
export default [
  dualLibraryConfig(['src/index.ts'], { clean: ['!cli.*'] }),
  libraryConfig(['src/cli.ts'], { dts: false, clean: ['!index.*'] }),
];
