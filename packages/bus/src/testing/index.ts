export {
  bySeq,
  cycle,
  when,
  withMessageFaults,
  type FaultPlan,
  type FaultyBus,
  type MessageFate,
} from './message-faults.js';
export { startNatsServer, type TestNatsServer, type TestNatsServerOptions } from './nats-server.js';
