import { describe, expect, it } from 'vitest';

import { type Dependency, probe, waitForDependency } from './wait-for-dependency.js';

function recordingLogger() {
  const lines: { level: 'info' | 'warn'; fields: Record<string, unknown>; message: string }[] = [];
  return {
    lines,
    info: (fields: object, message: string) =>
      void lines.push({ level: 'info', fields: fields as Record<string, unknown>, message }),
    warn: (fields: object, message: string) =>
      void lines.push({ level: 'warn', fields: fields as Record<string, unknown>, message }),
  };
}

/** A dependency whose first `failures` checks fail with ECONNREFUSED. */
function flaky(failures: number): Dependency & { calls: number } {
  const dep = {
    name: 'database',
    variable: 'DATABASE_URL',
    calls: 0,
    async check() {
      dep.calls++;
      if (dep.calls <= failures)
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
          code: 'ECONNREFUSED',
        });
      return 1;
    },
  };
  return dep;
}

const fast = { minDelayMs: 1, maxDelayMs: 4, checkTimeoutMs: 50 };

describe('waitForDependency', () => {
  it('2: logs the first failure once, naming the variable and the reason without a stack, and resolves once the dependency answers', async () => {
    const logger = recordingLogger();
    const dep = flaky(5);
    expect(await waitForDependency(dep, { logger, ...fast })).toBe(true);
    expect(dep.calls).toBe(6);
    expect(logger.lines).toEqual([
      {
        level: 'warn',
        message: 'database unreachable (DATABASE_URL); retrying',
        fields: {
          dependency: 'database',
          variable: 'DATABASE_URL',
          reason: 'connect ECONNREFUSED 127.0.0.1:1',
          attempts: 1,
        },
      },
      {
        level: 'info',
        message: 'database reachable again',
        fields: { dependency: 'database', variable: 'DATABASE_URL', attempts: 6 },
      },
    ]);
  });

  it('says nothing when the dependency answers at once', async () => {
    const logger = recordingLogger();
    expect(await waitForDependency(flaky(0), { logger, ...fast })).toBe(true);
    expect(logger.lines).toEqual([]);
  });

  it('2: counts a check that never answers as a failure after checkTimeoutMs', async () => {
    const logger = recordingLogger();
    const controller = new AbortController();
    const silent: Dependency = {
      name: 'database',
      variable: 'DATABASE_URL',
      check: () => new Promise(() => undefined),
    };
    const waiting = waitForDependency(silent, { logger, ...fast, signal: controller.signal });
    await expect.poll(() => logger.lines.length, { timeout: 2000, interval: 5 }).toBe(1);
    expect(logger.lines[0]!.fields.reason).toBe('no answer within 50 ms');
    controller.abort();
    expect(await waiting).toBe(false);
  });

  it('repeats the complaint only every repeatLogMs while the dependency stays down', async () => {
    const logger = recordingLogger();
    const dep = flaky(20);
    expect(await waitForDependency(dep, { logger, ...fast, repeatLogMs: 60_000 })).toBe(true);
    expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    const again = recordingLogger();
    expect(await waitForDependency(flaky(3), { logger: again, ...fast, repeatLogMs: 0 })).toBe(
      true,
    );
    expect(again.lines.filter((l) => l.level === 'warn')).toHaveLength(3);
  });

  it('4: gives up with false when the process starts to stop', async () => {
    const controller = new AbortController();
    controller.abort();
    expect(
      await waitForDependency(flaky(0), {
        logger: recordingLogger(),
        ...fast,
        signal: controller.signal,
      }),
    ).toBe(false);
  });
});

describe('probe', () => {
  it('rejects a check that answers false, fails, or is too slow; resolves one that answers', async () => {
    const dep = (check: () => Promise<unknown>): Dependency => ({
      name: 'bus',
      variable: 'RUNSTREAM_BUS',
      check,
    });
    await expect(
      probe(
        dep(async () => true),
        50,
      ),
    ).resolves.toBeUndefined();
    await expect(
      probe(
        dep(async () => false),
        50,
      ),
    ).rejects.toThrow(/down/);
    await expect(
      probe(
        dep(() => Promise.reject(new Error('x'))),
        50,
      ),
    ).rejects.toThrow('x');
    await expect(
      probe(
        dep(() => new Promise(() => undefined)),
        20,
      ),
    ).rejects.toThrow(/20 ms/);
  });
});
