import { type ApiErrorStatus, type HttpErrorCode, statusOf } from '@runstream/contract';

/**
 * An error the HTTP layer raises itself (a refused key, a conflicting idempotency key, a full
 * tenant). Its status is the code's, from the contract's one table: a call site cannot pick another.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly statusCode: ApiErrorStatus;

  constructor(
    readonly code: HttpErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.statusCode = statusOf(code);
  }
}
