import { describe, expect, it } from 'vitest';

import { describeFields, exampleInput, faultsOf, parseInputText } from './graph-form.js';

/** synthetic's input, as its workers register it. */
const synthetic = {
  type: 'object',
  properties: {
    events: { type: 'integer', minimum: 1, maximum: 100000 },
    delayMs: { type: 'integer', minimum: 0, maximum: 60000 },
    failAt: { type: 'integer', minimum: 1, maximum: 100000 },
  },
  required: ['events'],
  additionalProperties: false,
};
const echo = {
  type: 'object',
  properties: { text: { type: 'string', minLength: 1, maxLength: 10000 } },
  required: ['text'],
};
const demo = {
  type: 'object',
  properties: {
    prompt: { type: 'string', default: 'What is Runstream?' },
    delayMs: { type: 'integer', default: 15 },
  },
};

describe('the run form', () => {
  it('describes each field, required ones first: type, whether required, bounds and default', () => {
    expect(describeFields(synthetic).map((f) => f.name)).toEqual(['events', 'delayMs', 'failAt']);
    expect(describeFields(synthetic)[0]).toEqual({
      name: 'events',
      type: 'integer',
      required: true,
      detail: '1..100000',
    });
    expect(describeFields(echo)[0]!.detail).toBe('1..10000 chars');
    expect(describeFields(demo).map((f) => f.name)).toEqual(['delayMs', 'prompt']);
    expect(describeFields(demo)[1]).toMatchObject({
      required: false,
      detail: 'default "What is Runstream?"',
    });
    expect(describeFields('not a schema')).toEqual([]);
  });

  it('proposes an input with the required fields only, within their bounds', () => {
    expect(exampleInput(synthetic)).toEqual({ events: 1 });
    expect(exampleInput(echo)).toEqual({ text: 'hello' });
    expect(exampleInput(demo)).toEqual({});
  });

  it("turns the api's INVALID_INPUT details into the field at fault and a line for each", () => {
    expect(
      faultsOf([
        { path: ['input', 'events'], message: 'must be >= 1', code: 'minimum' },
        { path: ['input'], message: 'must be object', code: 'type' },
        { nonsense: true },
      ]),
    ).toEqual([
      { field: 'events', text: 'input.events: must be >= 1' },
      { field: undefined, text: 'input: must be object' },
    ]);
    expect(faultsOf(undefined)).toEqual([]);
  });

  it('reads the input text as a JSON object, or says why not', () => {
    expect(parseInputText('{"events": 3}')).toEqual({ ok: true, input: { events: 3 } });
    expect(parseInputText('  ')).toEqual({ ok: true, input: {} });
    expect(parseInputText('[1]')).toEqual({
      ok: false,
      fault: 'input: must be a JSON object, {...}',
    });
    expect(parseInputText('{events: 3}')).toMatchObject({
      ok: false,
      fault: expect.stringMatching(/^input: not JSON/) as string,
    });
  });
});
