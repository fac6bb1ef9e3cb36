export {
  bySeq,
  cycle,
  when,
  withMessageFaults,
  type FaultPlan,
  type FaultyBus,
  type MessageFate,
} from './message-faults.js';
