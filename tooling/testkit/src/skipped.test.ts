import { describe, expect, it } from 'vitest';

import { skipsLine } from './skipped.js';

describe('skipsLine', () => {
  it('is nothing when nothing was skipped', () => {
    expect(skipsLine([])).toBeUndefined();
  });

  it('is one line naming every skipped suite, its package and the reason, once per reason', () => {
    const reason = 'no nats-server on PATH and no Docker daemon';
    const line = skipsLine([
      { pkg: 'bus', suite: 'bus contract on nats', need: 'NATS', reason },
      { pkg: 'api', suite: 'bus message authentication (nats)', need: 'NATS', reason },
    ]);
    expect(line).toBe(
      `SKIPPED 2 NATS suites (bus: bus contract on nats, api: bus message authentication (nats)), because ${reason}`,
    );
    expect(line).not.toContain('\n');
  });
});
