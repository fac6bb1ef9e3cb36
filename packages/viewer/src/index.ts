import { fileURLToPath } from 'node:url';

/**
 * Absolute path of the built viewer (index.html, app.js, style.css). The api serves this folder at
 * `/`; every URL inside is relative, so it also works under a path prefix.
 */
export const viewerAssetsDir: string = fileURLToPath(new URL('./assets/', import.meta.url));

/** The viewer's entry page, inside viewerAssetsDir. */
export const viewerIndexFile = 'index.html';
