import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { findNatsServerBinary } from './nats.js';

const dir = mkdtempSync(join(tmpdir(), 'runstream-nats-bin-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function folder(name: string): string {
  const path = join(dir, name);
  mkdirSync(path);
  return path;
}

function binary(in_: string): string {
  const path = join(in_, 'nats-server');
  writeFileSync(path, '#!/bin/sh\n');
  chmodSync(path, 0o755);
  return path;
}

describe('findNatsServerBinary', () => {
  it('takes PATH first, then the sbin folders; an explicit binary only if it is there', () => {
    const onPath = folder('bin');
    const sbin = folder('sbin');
    expect(findNatsServerBinary({ PATH: onPath }, [sbin])).toBeUndefined();
    const inSbin = binary(sbin);
    expect(findNatsServerBinary({ PATH: onPath }, [sbin])).toBe(inSbin);
    const inPath = binary(onPath);
    expect(findNatsServerBinary({ PATH: onPath }, [sbin])).toBe(inPath);
    expect(findNatsServerBinary({ RUNSTREAM_NATS_SERVER_BIN: inSbin, PATH: onPath }, [])).toBe(
      inSbin,
    );
    const missing = join(dir, 'none', 'nats-server');
    expect(findNatsServerBinary({ RUNSTREAM_NATS_SERVER_BIN: missing, PATH: onPath }, [sbin])).toBe(
      undefined,
    );
  });
});
