import { describe, expect, it } from 'vitest';

import { USAGE, UsageError, needsDatabase, runOutboxCli } from './outbox-cli.js';

function capture() {
  const io = { out: '', err: '' };
  return {
    io,
    sink: {
      out: (text: string) => void (io.out += text),
      err: (text: string) => void (io.err += text),
    },
  };
}

describe('runOutboxCli without a database', () => {
  it('prints its help on stdout with exit 0, under every spelling', async () => {
    for (const help of ['help', '--help', '-h']) {
      const { io, sink } = capture();
      expect(await runOutboxCli([help], undefined, sink)).toBe(0);
      expect(io).toEqual({ out: USAGE, err: '' });
    }
  });

  it('prints the usage on stderr with exit 2 when no command is given', async () => {
    const { io, sink } = capture();
    expect(await runOutboxCli([], undefined, sink)).toBe(2);
    expect(io).toEqual({ out: '', err: USAGE });
  });

  it('refuses an unknown option as wrong usage, naming the command, before it needs the database', async () => {
    const { sink } = capture();
    const refused = runOutboxCli(['parked', '--bogus'], undefined, sink);
    await expect(refused).rejects.toBeInstanceOf(UsageError);
    await expect(refused).rejects.toThrow(/^parked: /);
  });

  it('needs the database for every command but help', () => {
    expect(needsDatabase([])).toBe(false);
    expect(needsDatabase(['help'])).toBe(false);
    expect(needsDatabase(['-h'])).toBe(false);
    for (const command of ['parked', 'unpark', 'rotate-bus-key', 'nonsense'])
      expect(needsDatabase([command])).toBe(true);
  });
});
