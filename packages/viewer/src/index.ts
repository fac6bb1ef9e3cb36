import { fileURLToPath } from 'node:url';

/**
 * Absolute path of the built viewer (index.html, app.js, style.css). The api serves this folder at
 * `/`; every URL inside is relative, so it also works under a path prefix. Written from the package
 * root so that it names dist/assets from this file's source (src/index.ts, under the workspace's
 * source condition) as from its build (dist/index.js).
 */
export const viewerAssetsDir: string = fileURLToPath(new URL('../dist/assets/', import.meta.url));

/** The viewer's entry page, inside viewerAssetsDir. */
export const viewerIndexFile = 'index.html';
