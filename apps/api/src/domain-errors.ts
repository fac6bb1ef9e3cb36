import type { DomainErrorCode, ErrorBody } from '@runstream/contract';
import { RunInputError } from '@runstream/graph-catalog';
import {
  IdempotentRunVanishedError,
  InvalidCursorError,
  QuotaExceededError,
  RunNotFoundError,
  RunTerminalError,
} from '@runstream/persistence';
import { StartPointError } from '@runstream/stream';

/** The domain's errors that the api answers with their own code; any other error is a 500. */
export type DomainError =
  | RunNotFoundError
  | IdempotentRunVanishedError
  | RunTerminalError
  | InvalidCursorError
  | QuotaExceededError
  | RunInputError
  | StartPointError;

// The domain's errors and the contract's domain codes are the same set: a code the domain raises
// that the contract lacks, or a contract code nothing raises, does not compile.
type Assert<T extends true> = T;
type _SameCodes = Assert<
  [DomainError['code']] extends [DomainErrorCode]
    ? [DomainErrorCode] extends [DomainError['code']]
      ? true
      : false
    : false
>;

/**
 * The error if it is one of the domain's, recognised by its class: an object that merely has a
 * `code` (a pg error, a Prisma error, a plugin's) is not trusted to choose an answer.
 */
export function asDomainError(error: unknown): DomainError | undefined {
  return error instanceof RunNotFoundError ||
    error instanceof IdempotentRunVanishedError ||
    error instanceof RunTerminalError ||
    error instanceof InvalidCursorError ||
    error instanceof QuotaExceededError ||
    error instanceof RunInputError ||
    error instanceof StartPointError
    ? error
    : undefined;
}

/** The answer's body for a domain error: its code and message, and what the caller can act on. */
export function domainErrorBody(error: DomainError): ErrorBody {
  const answer = (details: unknown): ErrorBody => ({
    error: { code: error.code, message: error.message, details },
  });
  switch (error.code) {
    case 'RUN_NOT_FOUND':
      // A run deleted while a create with its key ran has no id the caller knows: the key names it.
      return answer(
        error instanceof RunNotFoundError ? { runId: error.runId } : { field: 'idempotencyKey' },
      );
    case 'RUN_TERMINAL':
      return answer({ runId: error.runId });
    case 'INVALID_CURSOR':
      return answer({ field: 'cursor' });
    case 'QUOTA_EXCEEDED':
      return answer({ maxQueued: error.maxQueued });
    case 'UNKNOWN_GRAPH':
    case 'INVALID_INPUT':
      // The issues, each with its path from the request body's root (`['input', 'events']`).
      return answer(error.details);
    case 'INVALID_START_POINT':
      return answer({ field: error.field });
    default:
      return assertNever(error);
  }
}

function assertNever(value: never): never {
  throw new Error(`unhandled domain error: ${String((value as { code?: unknown }).code)}`);
}
