export {
  defineGraph,
  type BranchEdge,
  type GraphDefinition,
  type GraphEdge,
  type GraphNode,
  type NodeContext,
  type NodeEventBody,
  type NodeTracer,
  type SequenceEdge,
} from './graph.js';
export { GraphDefinitionError, GraphInputError, NodeError, type GraphInputErrorCode } from './errors.js';
export { createDefaultGraphRegistry, createGraphRegistry, type GraphRegistry } from './graph-registry.js';
export { DemoInputSchema, demoGraph, type DemoInput } from './graphs/demo.js';
export { SyntheticInputSchema, syntheticGraph, type SyntheticInput } from './graphs/synthetic.js';
