import { setTimeout as sleep } from 'node:timers/promises';

import { defineGraph, z } from '@runstream/orchestrator';

/** Input of the `demo` graph. */
export const DemoInputSchema = z.strictObject({
  /** The question the agent answers. @default "What is Runstream?" */
  prompt: z.string().min(1).max(2000).default('What is Runstream?'),
  /** Pause between streamed words, so a viewer sees the answer arrive. @default 15 */
  delayMs: z.number().int().min(0).max(5000).default(15),
});

export type DemoInput = z.infer<typeof DemoInputSchema>;

interface Plan {
  prompt: string;
  delayMs: number;
  /** Questions look something up first; statements are answered directly. */
  lookup: string | undefined;
}

interface Facts {
  prompt: string;
  delayMs: number;
  facts: string[];
}

/** A fixed, offline knowledge base: the demo must be deterministic and need no network. */
const KNOWLEDGE: readonly string[] = [
  'Runstream runs agent graphs and persists every event before publishing it.',
  'Each run has gapless sequence numbers starting at 1.',
  'Clients resume a stream from the last event id they saw, with no gap and no duplicate.',
  'A run ends with exactly one terminal event: completed, failed or cancelled.',
];

function search(query: string): string[] {
  const words = new Set(query.toLowerCase().match(/[a-z]+/g) ?? []);
  const scored = KNOWLEDGE.map((fact) => ({
    fact,
    score: (fact.toLowerCase().match(/[a-z]+/g) ?? []).filter((w) => words.has(w)).length,
  }));
  return scored
    .sort((a, b) => b.score - a.score)
    .slice(0, 2)
    .map((s) => s.fact);
}

/** plan, then (for a question) a `search` tool call, then an answer streamed word by word. */
export const demoGraph = defineGraph({
  name: 'demo',
  description: 'a small agent: plan, a tool call, an answer streamed as text deltas',
  input: DemoInputSchema,
  start: 'plan',
  nodes: {
    plan: async (input: DemoInput, { tracer }): Promise<Plan> => {
      const lookup = input.prompt.trim().endsWith('?') ? input.prompt : undefined;
      await tracer.text(
        lookup ? 'I will look this up, then answer.' : 'I can answer this directly.',
      );
      return { prompt: input.prompt, delayMs: input.delayMs, lookup };
    },
    lookup: async (plan: Plan, { tracer }): Promise<Facts> => {
      const callId = 'call-1';
      const args = { query: plan.lookup ?? plan.prompt };
      await tracer.emit({
        type: 'tool.call',
        data: { node: 'lookup', callId, tool: 'search', args },
      });
      const facts = search(args.query);
      await tracer.emit({
        type: 'tool.result',
        data: { node: 'lookup', callId, tool: 'search', result: { facts } },
      });
      return { prompt: plan.prompt, delayMs: plan.delayMs, facts };
    },
    answer: async (input: Plan | Facts, { tracer, signal }) => {
      const facts = 'facts' in input ? input.facts : [];
      const text = facts.length > 0 ? facts.join(' ') : `You said: ${input.prompt}`;
      const words = text.split(/(?<= )/);
      for (const word of words) {
        signal.throwIfAborted();
        await tracer.text(word);
        if (input.delayMs > 0) await sleep(input.delayMs, undefined, { signal });
      }
      return { answer: text };
    },
  },
  edges: [
    {
      from: 'plan',
      to: ['lookup', 'answer'],
      choose: (plan) => ((plan as Plan).lookup ? 'lookup' : 'answer'),
    },
    { from: 'lookup', to: 'answer' },
  ],
});
