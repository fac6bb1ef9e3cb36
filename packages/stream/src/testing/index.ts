export { openSse, type SseClient, type SseFrame } from './sse-client.js';
