export { startNatsServer, type TestNatsServer } from './nats-server.js';
export { waitFor, type WaitForOptions } from './wait-for.js';
