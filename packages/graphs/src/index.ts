import type { GraphDefinition } from '@runstream/orchestrator';

import { demoGraph } from './demo.js';
import { syntheticGraph } from './synthetic.js';

export { DemoInputSchema, demoGraph, type DemoInput } from './demo.js';
export { SyntheticInputSchema, syntheticGraph, type SyntheticInput } from './synthetic.js';

/** The graphs every stock run-worker serves: `demo` and `synthetic`. */
export const builtInGraphs: readonly GraphDefinition[] = [demoGraph, syntheticGraph];
