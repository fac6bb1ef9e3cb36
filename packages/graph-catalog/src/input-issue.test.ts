import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';

import { inputIssue } from './input-issue.js';

const issuesOf = (schema: object, input: unknown) => {
  const validate = new Ajv2020({ allErrors: true }).compile(schema);
  validate(input);
  return (validate.errors ?? []).map(inputIssue);
};

describe('an Ajv error as an issue at the field at fault', () => {
  const schema = {
    type: 'object',
    properties: {
      text: { type: 'string', minLength: 1 },
      'a/b~c': { type: 'integer' },
      items: { type: 'array', items: { type: 'object', properties: { n: { type: 'integer' } } } },
    },
    required: ['text'],
    additionalProperties: false,
  };

  it('names a missing field and an unknown one by their own path, not the object holding them', () => {
    expect(issuesOf(schema, { colour: 'red' })).toEqual([
      { path: ['input', 'text'], message: 'is required', code: 'required' },
      {
        path: ['input', 'colour'],
        message: 'is not a field of this input',
        code: 'additionalProperties',
      },
    ]);
  });

  it('decodes JSON pointer escapes and gives array indices as numbers', () => {
    expect(issuesOf(schema, { text: 'x', 'a/b~c': 1.5, items: [{ n: 1 }, { n: 'two' }] })).toEqual([
      { path: ['input', 'a/b~c'], message: 'must be integer', code: 'type' },
      { path: ['input', 'items', 1, 'n'], message: 'must be integer', code: 'type' },
    ]);
  });

  it("keeps Ajv's message for a bound", () => {
    expect(issuesOf(schema, { text: '' })).toEqual([
      {
        path: ['input', 'text'],
        message: 'must NOT have fewer than 1 characters',
        code: 'minLength',
      },
    ]);
  });
});
