export { createCollector, type Collector } from './collector.js';
export { startOutboxLoop, type RunningOutbox } from './outbox-loop.js';
