export { runGraph, type GraphRun, type RunGraphOptions } from './run-graph.js';
