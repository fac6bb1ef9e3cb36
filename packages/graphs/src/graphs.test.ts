import { createGraphRegistry } from '@runstream/orchestrator';
import { describe, expect, it } from 'vitest';

import { builtInGraphs } from './index.js';

describe('the built-in graphs as workers register them', () => {
  const [demo, synthetic] = createGraphRegistry(builtInGraphs).registrations();

  it('are demo and synthetic, each with a version', () => {
    expect([demo?.name, synthetic?.name]).toEqual(['demo', 'synthetic']);
    expect(demo?.version).toMatch(/^[0-9a-f]{24}$/);
    expect(synthetic?.version).not.toBe(demo?.version);
  });

  it('give synthetic the JSON Schema of its contract: events required, bounds, no other field', () => {
    expect(synthetic?.inputSchema).toMatchObject({
      type: 'object',
      required: ['events'],
      additionalProperties: false,
      properties: {
        events: { type: 'integer', minimum: 1, maximum: 100_000 },
        failAt: { type: 'integer', minimum: 1, maximum: 100_000 },
        payloadBytes: { type: 'integer', minimum: 0, maximum: 65_536 },
      },
      // failAt <= events, which JSON Schema cannot say: the api enforces the annotation (ADR 0021).
      'x-runstream-le': [['failAt', 'events']],
    });
  });

  it("give demo's fields their defaults, so that an empty input fits", () => {
    expect(demo?.inputSchema).toMatchObject({
      properties: { prompt: { default: 'What is Runstream?' }, delayMs: { default: 15 } },
    });
    expect(demo?.inputSchema.required).toBeUndefined();
  });

  it('version the same input the same way, whatever builds it', () => {
    const again = createGraphRegistry(builtInGraphs).registrations();
    expect(again.map((r) => r.version)).toEqual([demo?.version, synthetic?.version]);
  });
});
