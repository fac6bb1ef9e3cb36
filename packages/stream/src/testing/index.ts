export { openSse, type SseClient, type SseFrame } from './sse-client.js';
export {
  startTestPublisher,
  type Fault,
  type TestPublisher,
  type TestPublisherOptions,
} from './test-publisher.js';
