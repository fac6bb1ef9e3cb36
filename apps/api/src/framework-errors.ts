import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

import { type ErrorBody, type HttpErrorCode, statusOf } from '@runstream/contract';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/**
 * Errors Fastify raises while routing, before any hook or handler runs: a path segment over
 * `maxParamLength` (FST_ERR_MAX_PARAM_LENGTH) or one that does not percent-decode (FST_ERR_BAD_URL).
 * Under /v1/runs/ both can only be a run id that names no run, so they get the answer of a malformed
 * run id (404, as the contract asks); elsewhere a plain 404. Neither echoes the URL: it may be
 * kilobytes long and is the caller's own input.
 */
export function frameworkErrors(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  if (error.code === 'FST_ERR_BAD_URL' || error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    const runs = (request.raw.url ?? '').startsWith('/v1/runs/');
    const body: ErrorBody = {
      error: runs
        ? { code: 'RUN_NOT_FOUND', message: 'run not found' }
        : { code: 'NOT_FOUND', message: 'no such route' },
    };
    void reply.code(statusOf(body.error.code)).type('application/json').send(body);
    return;
  }
  request.log.error({ err: error }, 'routing failed');
  void reply
    .code(statusOf('INTERNAL'))
    .type('application/json')
    .send({ error: { code: 'INTERNAL', message: 'internal error' } } satisfies ErrorBody);
}

/** What Node's HTTP parser and its timers reject, as the contract's code. */
function clientErrorAnswer(code: string | undefined): { code: HttpErrorCode; message: string } {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return { code: 'REQUEST_TIMEOUT', message: 'the request did not arrive in time' };
  if (code === 'HPE_HEADER_OVERFLOW')
    return { code: 'HEADERS_TOO_LARGE', message: 'the request head is too large' };
  return { code: 'BAD_REQUEST', message: 'malformed HTTP request' };
}

/**
 * Node's `clientError`: the request never became a request (a parse error, an oversized head, a
 * head or body that did not arrive in time), so there is no reply object and the answer is written
 * raw on the socket, in the contract's shape and without a word of the request, then the connection
 * is closed (what follows on it cannot be framed any more).
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Duplex): void {
  // A reset: nobody is left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const answer = clientErrorAnswer(error.code);
  const status = statusOf(answer.code);
  const body = JSON.stringify({
    error: { code: answer.code, message: answer.message },
  } satisfies ErrorBody);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
    () => socket.destroy(),
  );
}
