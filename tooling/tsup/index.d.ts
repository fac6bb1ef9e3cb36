import type { Options } from 'tsup';

/**
 * tsup's options under a name of this package, so that a package's `tsup.config.ts` (checked with
 * `declaration: true`) can name its default export's type without a path into tooling/tsup.
 */
export interface TsupConfig extends Options {}

/**
 * A library: ESM for node20, source maps, declarations, a clean dist.
 * @param entry the entry points, e.g. `['src/index.ts', 'src/testing/index.ts']`
 * @param overrides merged last (e.g. `external`, or `dts: { entry }` to type only some entries)
 */
export function libraryConfig(entry: string[], overrides?: Options): TsupConfig;

/**
 * A library loadable by `import` and by `require`: like libraryConfig, plus a CommonJS build
 * (`.cjs`) with its own declarations (`.d.cts`). Its package.json maps the `import` condition to
 * the `.js`/`.d.ts` pair and `require` to the `.cjs`/`.d.cts` pair.
 */
export function dualLibraryConfig(entry: string[], overrides?: Options): TsupConfig;

/** An app: `src/main.ts` bundled to `dist/main.js` (ESM, node20, source maps), no declarations. */
export function appConfig(): TsupConfig;
