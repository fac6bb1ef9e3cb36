import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { createRunstreamClient } from '@runstream/client';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT } from '@runstream/testkit';

import { type Stack, startStack } from './stack.js';
import { CHROMIUM, CHROMIUM_FLAGS } from '@runstream/testkit';

const RESULTS = join(ROOT, 'tooling', 'e2e', 'test-results');

describe('the run viewer in headless Chromium', () => {
  let stack: Stack;
  let browser: Browser;

  beforeAll(async () => {
    stack = await startStack();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [...CHROMIUM_FLAGS],
      headless: true,
    });
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('shows every event of a synthetic run exactly once and its final status, across an api SIGKILL and restart', async () => {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${stack.url}/`);
    await page.getByTestId('graph').selectOption('synthetic');
    await page.getByTestId('input').fill('{"events": 200, "delayMs": 20}');
    await page.getByTestId('start').click();
    await page.waitForURL(/#\/runs\//);
    const runId = decodeURIComponent(page.url().split('#/runs/')[1]!);

    // Mid-stream: some events shown, the run still going.
    await page.locator('li[data-seq="20"]').waitFor({ timeout: 60_000 });
    const shownBeforeKill = await page.locator('li[data-seq]').count();
    const api = stack.api();
    api.child.kill('SIGKILL');
    await api.exited;
    await stack.startApi();

    await page
      .getByTestId('status')
      .getByText(/succeeded|failed|cancelled/)
      .waitFor({ timeout: 90_000 });
    const run = await createRunstreamClient({ baseUrl: stack.url }).runs.get(runId);
    expect(run.status).toBe('succeeded');
    // The kill happened mid-stream: the page had not yet shown the whole run.
    expect(shownBeforeKill).toBeLessThan(run.lastSeq);
    await page.locator(`li[data-seq="${run.lastSeq}"]`).waitFor();
    const seqs = await page
      .locator('li[data-seq]')
      .evaluateAll((items) => items.map((li) => Number(li.getAttribute('data-seq'))));
    expect(seqs).toEqual(Array.from({ length: run.lastSeq }, (_, i) => i + 1));
    expect(await page.getByTestId('status').textContent()).toBe('succeeded');
    expect(await page.getByTestId('result').textContent()).toContain('output');
    expect(pageErrors).toEqual([]);

    mkdirSync(RESULTS, { recursive: true });
    await page.screenshot({ path: join(RESULTS, 'viewer-after-api-restart.png'), fullPage: true });
  });

  it('rows 74-75: runs under its CSP with no violation, and keeps the API key in sessionStorage, never localStorage', async () => {
    const page = await browser.newPage();
    const violations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    page.on('pageerror', (error) => violations.push(error.message));
    await page.goto(`${stack.url}/`);
    const key = page.getByPlaceholder(/API key/);
    await key.fill('viewer-key-123456');
    await key.press('Tab');
    await page.getByTestId('graph').selectOption('demo');
    await page.getByTestId('start').click();
    await page.waitForURL(/#\/runs\//);
    await page
      .getByTestId('status')
      .getByText(/succeeded|failed|cancelled/)
      .waitFor({ timeout: 60_000 });
    const stored = await page.evaluate(() => ({
      local: window.localStorage.length,
      session: window.sessionStorage.getItem('runstream.apiKey'),
    }));
    expect(stored).toEqual({ local: 0, session: 'viewer-key-123456' });
    expect(violations).toEqual([]);
    await page.close();
  });

  it('lists the registered graphs, proposes an input from the schema, and shows the field at fault of a refused one', async () => {
    const page = await browser.newPage();
    await page.goto(`${stack.url}/`);
    const graph = page.getByTestId('graph');
    await graph.locator('option[value="synthetic"]').waitFor({ state: 'attached' });
    expect(await graph.locator('option').allTextContents()).toEqual(['demo', 'synthetic']);
    await graph.selectOption('synthetic');
    expect(JSON.parse(await page.getByTestId('input').inputValue())).toEqual({ events: 1 });
    await page.getByTestId('input').fill('{"events": 0, "colour": "red"}');
    await page.getByTestId('start').click();
    const faults = page.getByTestId('input-error');
    await faults.getByText('input.events').waitFor();
    expect(await faults.locator('li').allTextContents()).toEqual([
      'input.colour: is not a field of this input',
      'input.events: must be >= 1',
    ]);
    expect(await page.locator('tr.fault').getAttribute('data-field')).toBe('events');
    expect(page.url()).not.toMatch(/#\/runs\//);
    mkdirSync(RESULTS, { recursive: true });
    await page.screenshot({ path: join(RESULTS, 'viewer-run-form.png'), fullPage: true });
    await page.close();
  });

  it('A8: says "not found" for an unknown run and stops asking, instead of reconnecting every second', async () => {
    const page = await browser.newPage();
    const unknown = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
    let streamRequests = 0;
    page.on('request', (request) => {
      if (request.url().includes(`/v1/runs/${unknown}/events`)) streamRequests++;
    });
    await page.goto(`${stack.url}/#/runs/${unknown}`);
    await page
      .getByRole('alert')
      .getByText(/not found/i)
      .waitFor({ timeout: 10_000 });
    const seen = streamRequests;
    // A bounded look for requests that should not come: the old viewer asked once a second.
    await page.waitForTimeout(2500);
    expect(streamRequests).toBe(seen);
    expect(seen).toBeLessThanOrEqual(2);
    await page.close();
  });
  it('the API reference at /docs renders every operation under the same CSP, with no violation', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    const answer = await page.goto(`${stack.url}/docs`);
    expect(answer?.headers()['content-security-policy']).toMatch(
      /script-src 'self';style-src 'self'/,
    );
    await page.locator('.opblock').first().waitFor({ timeout: 30_000 });
    const paths = await page.locator('.opblock-summary-path').allTextContents();
    expect(paths).toEqual(
      expect.arrayContaining(['/v1/runs', '/v1/runs/{runId}', '/v1/runs/{runId}/events']),
    );
    // The SSE form of the events route: its media types are offered for the 200.
    await page.locator('#operations-events-getRunEvents').click();
    await page.getByText('text/event-stream').first().waitFor();
    expect(problems).toEqual([]);
    mkdirSync(RESULTS, { recursive: true });
    await page.screenshot({ path: join(RESULTS, 'api-reference.png'), fullPage: true });
    await page.close();
  });
});
