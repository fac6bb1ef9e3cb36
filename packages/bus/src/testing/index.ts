export { startNatsServer, type TestNatsServer } from './nats-server.js';
