// A graph in a module of its own, served by the stock run-worker with no other change:
//   RUNSTREAM_GRAPHS=examples/echo-graph.mjs node apps/run-worker/dist/main.js
import { defineGraph, z } from '@runstream/orchestrator';

/** `echo`: streams its input text back, one text.delta per word, then completes with it. */
export default defineGraph({
  name: 'echo',
  description: 'streams the text back, one text.delta per word',
  input: z.strictObject({ text: z.string().min(1).max(10_000) }),
  start: 'echo',
  traceNodes: false,
  nodes: {
    echo: async ({ text }, { tracer, signal }) => {
      // Each word with the space around it, so that the deltas add up to the text.
      for (const word of text.match(/\s*\S+\s*/g) ?? []) {
        signal.throwIfAborted();
        await tracer.text(word);
      }
      return { text };
    },
  },
});
