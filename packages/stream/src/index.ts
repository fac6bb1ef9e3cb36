export { coalesceReads, type StreamReadOptions, type StreamReads } from './coalesce-reads.js';
export {
  followRun,
  type FollowRunDeps,
  type FollowRunOptions,
  type RunFollower,
} from './follow-run.js';
export { HEARTBEAT_FRAME, formatFrame, formatFrames, formatReconnectFrame } from './frame.js';
export { pipeRunEvents, type PipeEnd, type PipeRunEventsOptions } from './pipe-run-events.js';
export {
  MAX_SEQ,
  StartPointError,
  resolveStartPoint,
  type StartPointErrorCode,
  type StartPointInput,
} from './start-point.js';
