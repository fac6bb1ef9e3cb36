export { startNatsServer, type TestNatsServer, type TestNatsServerOptions } from './nats-server.js';
