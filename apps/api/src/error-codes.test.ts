import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import type { ApiErrorCode as ClientApiErrorCode } from '@runstream/client';
import { HTTP_ERROR_CODES } from '@runstream/contract';
import { describe, expect, expectTypeOf, it } from 'vitest';

import type { DomainError } from './domain-errors.js';
import type { ApiError } from './errors.js';

describe('the error codes the api sends', () => {
  it('are, as a type, exactly the codes the client knows (checked by the compiler)', () => {
    // What the api can put in an error body: the HTTP layer's codes (ApiError) and the codes of
    // the domain errors it recognises, as their classes declare them. A code added to a domain
    // error, or dropped from it, changes the right side and fails this line.
    expectTypeOf<ClientApiErrorCode>().toEqualTypeOf<ApiError['code'] | DomainError['code']>();
    expect(HTTP_ERROR_CODES.length).toBeGreaterThan(0);
  });

  it('each of the HTTP layer’s codes is raised somewhere in the api (none is listed for nothing)', () => {
    const dir = join(import.meta.dirname, '.');
    const sources = readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts') && !file.includes('test') && !file.endsWith('.d.ts'))
      .map((file) => readFileSync(join(dir, file), 'utf8'))
      .join('\n');
    // openapi.ts names codes to document them, not to send them.
    const raised = sources.replace(readFileSync(join(dir, 'openapi.ts'), 'utf8'), '');
    const unused = HTTP_ERROR_CODES.filter((code) => !raised.includes(`'${code}'`));
    expect(unused).toEqual([]);
  });
});
