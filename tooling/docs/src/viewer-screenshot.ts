// Takes docs/viewer.png: the viewer of a running stack (`pnpm start` in another terminal) showing a
// finished demo run. Usage: pnpm --filter @runstream/docs screenshot [api url]; without a URL, the
// one `pnpm start` wrote to .runstream/start.json. The browser is Debian's chromium (CHROMIUM_PATH
// to use another), driven by playwright-core with the flags the e2e viewer test uses.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

import { ROOT } from './dependency-graph.js';
import { CHROMIUM, CHROMIUM_FLAGS } from '@runstream/testkit';

const OUT = join(ROOT, 'docs', 'viewer.png');
const INPUT = { prompt: 'What does Runstream keep when the api restarts?', delayMs: 5 };

function startUrl(): string {
  try {
    return (
      JSON.parse(readFileSync(join(ROOT, '.runstream', 'start.json'), 'utf8')) as { url: string }
    ).url;
  } catch {
    throw new Error('no api URL given and no .runstream/start.json: run `pnpm start` first');
  }
}

const url = process.argv[2] ?? startUrl();
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: [...CHROMIUM_FLAGS],
  headless: true,
});
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  await page.goto(`${url}/`);
  await page.getByTestId('graph').selectOption('demo');
  await page.getByTestId('input').fill(JSON.stringify(INPUT));
  await page.getByTestId('start').click();
  await page.waitForURL(/#\/runs\//);
  await page.getByTestId('status').getByText('succeeded').waitFor({ timeout: 60_000 });
  await page.screenshot({ path: OUT });
  process.stdout.write(`${OUT}: ${Math.round(statSync(OUT).size / 1024)} KB\n`);
} finally {
  await browser.close();
}
