/**
 * The browser the viewer is driven with: CHROMIUM_PATH when set (CI on GitHub points it at the
 * Chromium that `playwright-core install chromium` fetched), else Debian's chromium package.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** What a headless Chromium in a container or as root needs, and no background traffic. */
export const CHROMIUM_FLAGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
