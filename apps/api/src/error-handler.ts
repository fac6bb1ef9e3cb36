import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';

import { type ErrorBody, type HttpErrorCode, statusOf } from '@runstream/contract';

import { asDomainError, domainErrorBody } from './domain-errors.js';
import { ApiError } from './errors.js';

/** Fastify's own request errors, as the contract's codes (each code brings its status). */
const FASTIFY_CODES: Readonly<Record<string, { code: HttpErrorCode; message?: string }>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    code: 'PAYLOAD_TOO_LARGE',
    message: 'the body is larger than 1 MiB',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: 'the body must be application/json',
  },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'INVALID_JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'INVALID_JSON' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'INVALID_REQUEST' },
};

interface Issue {
  path: string;
  message: string;
}

function validationBody(
  error: FastifyError & {
    validation: {
      instancePath: string;
      message?: string;
      keyword: string;
      params: Record<string, unknown>;
    }[];
  },
): ErrorBody {
  const where = error.validationContext ?? 'request';
  const issues: Issue[] = [];
  const unknown: string[] = [];
  for (const v of error.validation) {
    const base = v.instancePath.replace(/^\//, '').replaceAll('/', '.');
    if (v.keyword === 'unrecognized_keys' && Array.isArray(v.params.keys)) {
      for (const key of v.params.keys) unknown.push(base ? `${base}.${String(key)}` : String(key));
      continue;
    }
    issues.push({ path: base ? `${where}.${base}` : where, message: v.message ?? 'invalid' });
  }
  const parts = [
    ...(unknown.length > 0
      ? [`unknown field${unknown.length > 1 ? 's' : ''} in ${where}: ${unknown.join(', ')}`]
      : []),
    ...issues.map((i) => `${i.path}: ${i.message}`),
  ];
  return {
    error: {
      code: 'INVALID_REQUEST',
      message: parts.join('; '),
      details: { ...(unknown.length > 0 ? { unknownFields: unknown } : {}), issues },
    },
  };
}

/**
 * The one place errors become answers: typed codes map to statuses, and a 5xx never carries the
 * error's own message or stack (those go to the log with the request id).
 */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const send = (status: number, body: ErrorBody) =>
      reply.code(status).type('application/json').send(body);
    if (error instanceof ApiError) {
      return send(error.statusCode, {
        error: { code: error.code, message: error.message, details: error.details },
      });
    }
    if (hasZodFastifySchemaValidationErrors(error)) return send(400, validationBody(error));
    const domain = asDomainError(error);
    if (domain) return send(statusOf(domain.code), domainErrorBody(domain));
    // Fastify's errors are FastifyError objects of no class of their own: their FST_ code is what
    // names them, and only the listed ones are answered as the request's fault.
    const fastifyCode = (error as Partial<FastifyError> | null)?.code;
    const known = typeof fastifyCode === 'string' ? FASTIFY_CODES[fastifyCode] : undefined;
    if (known) {
      return send(statusOf(known.code), {
        error: { code: known.code, message: known.message ?? (error as Error).message },
      });
    }
    const status =
      error instanceof Error && 'statusCode' in error && typeof error.statusCode === 'number'
        ? error.statusCode
        : 500;
    // A request error some plugin raised that is not listed above (say @fastify/static's 416 for
    // a bad Range): its status is the plugin's to choose, the code says it is the request's fault.
    if (status >= 400 && status < 500) {
      return send(status, {
        error: { code: 'INVALID_REQUEST', message: (error as Error).message },
      });
    }
    request.log.error({ err: error }, 'request failed');
    return send(statusOf('INTERNAL'), {
      error: { code: 'INTERNAL', message: 'internal error' },
    });
  });

  app.setNotFoundHandler((request, reply) => {
    // Enough of the path to spot a typo, never a caller's kilobytes sent back.
    const path = request.url.split('?')[0] ?? '';
    const shown = path.length > 100 ? `${path.slice(0, 100)}…` : path;
    return reply.code(404).send({
      error: { code: 'NOT_FOUND', message: `no route ${request.method} ${shown}` },
    } satisfies ErrorBody);
  });
}
