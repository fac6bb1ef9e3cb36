import { describe, expect, it } from 'vitest';

import { describeStartupFailure } from './guard-startup.js';
import { describeBus } from './bus-config.js';
import { StartupError, listenFailure, reasonOf, redactUrl, unreachable } from './startup-error.js';

const errno = (code: string, message: string): Error => Object.assign(new Error(message), { code });

describe('StartupError', () => {
  it('prints as VARIABLE: problem', () => {
    const error = new StartupError('UNREACHABLE', 'RUNSTREAM_BUS', 'cannot connect');
    expect(error.toLine()).toBe('RUNSTREAM_BUS: cannot connect');
    expect(describeStartupFailure(error)).toBe('RUNSTREAM_BUS: cannot connect');
  });

  it('describes any other failure by its innermost reason, in one line', () => {
    const wire = errno('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:4222');
    const outer = new Error('nats bus: cannot connect', {
      cause: new Error('connection refused', { cause: wire }),
    });
    expect(reasonOf(outer)).toBe('connect ECONNREFUSED 127.0.0.1:4222');
    expect(describeStartupFailure(outer)).toBe(
      'start-up failed: connect ECONNREFUSED 127.0.0.1:4222',
    );
    // Node reports a connect to a name with two addresses as an AggregateError without a message.
    expect(reasonOf(new AggregateError([errno('ECONNREFUSED', '')], ''))).toBe('ECONNREFUSED');
    expect(reasonOf(new Error('\nInvalid call:\n\n  Raw query failed.\n'))).toBe(
      'Invalid call: Raw query failed.',
    );
    expect(reasonOf('plain')).toBe('plain');
  });

  it('never prints credentials of a URL', () => {
    expect(redactUrl('nats://user:secret@127.0.0.1:4222')).toBe('nats://***@127.0.0.1:4222');
    expect(redactUrl('nats://token@127.0.0.1:4222')).toBe('nats://***@127.0.0.1:4222');
    expect(redactUrl('postgres://u:p@db/runstream')).toBe('postgres://***@db/runstream');
    expect(redactUrl('nats://127.0.0.1:4222')).toBe('nats://127.0.0.1:4222');
    expect(redactUrl('%%%')).toBe('(unparsable URL)');
  });
});

describe('unreachable', () => {
  it('2: names the variable, the target and the reason of a failed connect', () => {
    const cause = new Error('nats bus: cannot connect', {
      cause: errno('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'),
    });
    const target = describeBus({ kind: 'nats', url: 'nats://u:secret@127.0.0.1:1' });
    let thrown: unknown;
    try {
      unreachable('RUNSTREAM_BUS', target)(cause);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(StartupError);
    expect((thrown as StartupError).toLine()).toBe(
      'RUNSTREAM_BUS: cannot connect to nats://***@127.0.0.1:1 (connect ECONNREFUSED 127.0.0.1:1)',
    );
    expect(describeBus({ kind: 'postgres' })).toBe('postgres');
  });
});

describe('listenFailure', () => {
  const target = { host: 'h', port: 9465, hostVariable: 'X_HOST', portVariable: 'X_PORT' };

  it.each([
    ['EADDRINUSE', 'X_PORT', 'PORT_IN_USE'],
    ['EACCES', 'X_PORT', 'PORT_IN_USE'],
    ['ENOTFOUND', 'X_HOST', 'ADDRESS_UNAVAILABLE'],
    ['EAI_AGAIN', 'X_HOST', 'ADDRESS_UNAVAILABLE'],
    ['EADDRNOTAVAIL', 'X_HOST', 'ADDRESS_UNAVAILABLE'],
    ['EWHATEVER', 'X_HOST', 'ADDRESS_UNAVAILABLE'],
  ])('%s names %s', (code, variable, kind) => {
    const error = listenFailure(errno(code, `listen ${code}`), target);
    expect(error).toBeInstanceOf(StartupError);
    expect(error.variable).toBe(variable);
    expect(error.code).toBe(kind);
    expect(error.toLine()).not.toContain('\n');
  });
});
