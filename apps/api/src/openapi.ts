import { fastifySwagger } from '@fastify/swagger';
import { fastifySwaggerUi } from '@fastify/swagger-ui';
import {
  API_ERRORS,
  type ApiErrorCode,
  EVENT_STREAM_MEDIA_TYPE,
  ErrorBodySchema,
} from '@runstream/contract';
import type { FastifyInstance } from 'fastify';
import {
  createJsonSchemaTransform,
  createJsonSchemaTransformObject,
} from 'fastify-type-provider-zod';
import type { z } from 'zod';

/** Where the document is served (the contract's address) and where the reference UI lives. */
const OPENAPI_PATH = '/docs/openapi.json';
const DOCS_PREFIX = '/docs';

/**
 * OpenAPI 3.2: the first version that describes a stream of Server-Sent Events as a sequence of
 * items (`itemSchema` under `text/event-stream`), which is what the events route answers.
 */
const OPENAPI_VERSION = '3.2.0';

/**
 * Codes every route can answer: an HTTP request the server could not read (sent before any route
 * runs), the key check and rate limit in front of /v1, and a failure or a shutdown of the server.
 */
const EVERY_ROUTE: readonly ApiErrorCode[] = [
  'BAD_REQUEST',
  'REQUEST_TIMEOUT',
  'HEADERS_TOO_LARGE',
  'INTERNAL',
  'UNAVAILABLE',
];
const EVERY_V1_ROUTE: readonly ApiErrorCode[] = [
  ...EVERY_ROUTE,
  // Text a database cannot store, in a query string or a body.
  'INVALID_REQUEST',
  'UNAUTHORIZED',
  'RATE_LIMITED',
];
/** Codes of a route that reads a JSON body. */
export const JSON_BODY_CODES: readonly ApiErrorCode[] = [
  'INVALID_JSON',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
];

/** A response as a route declares it: a description, and a schema per media type. */
interface Response<S extends z.ZodType> {
  description: string;
  content: { 'application/json': { schema: S } };
}

type ErrorResponse = Response<typeof ErrorBodySchema>;

/**
 * A JSON answer with its description. (A described copy of a named schema would be a new schema,
 * written inline rather than as a reference to its component.)
 */
export function jsonResponse<S extends z.ZodType>(description: string, schema: S): Response<S> {
  return { description, content: { 'application/json': { schema } } };
}

/**
 * The error answers of a route, from the codes it can send: each code's status comes from the
 * contract's table, so a route lists what can go wrong and the statuses follow. Each status's
 * description names its codes and what they mean.
 * @param codes the route's own codes, besides those of every route (and of every /v1 route)
 * @param scope `v1` for the routes behind the key check and the rate limit
 */
export function errorResponses(
  codes: readonly ApiErrorCode[],
  scope: 'v1' | 'public' = 'v1',
): Record<number, ErrorResponse> {
  const all = new Set([...(scope === 'v1' ? EVERY_V1_ROUTE : EVERY_ROUTE), ...codes]);
  const byStatus = new Map<number, ApiErrorCode[]>();
  for (const code of all) {
    const { status } = API_ERRORS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<number, ErrorResponse> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[status] = {
      description: list.map((code) => `${code}: ${API_ERRORS[code].meaning}`).join('; '),
      content: { 'application/json': { schema: ErrorBodySchema } },
    };
  }
  return responses;
}

/**
 * How zod's JSON Schema is written into the document. A string's `format` (uuid, date-time) is
 * kept and the regular expression zod checks it with is dropped: the format is the contract, the
 * pattern an implementation detail that buries it. `additionalProperties: false` is kept only on
 * strict objects (request bodies that refuse unknown fields): on an answer it would make every
 * field added later a breaking change for clients generated from this document.
 */
const writeSchema = (ctx: {
  zodSchema: z.core.$ZodType;
  jsonSchema: z.core.JSONSchema.BaseSchema;
}): void => {
  const { jsonSchema } = ctx;
  if (typeof jsonSchema.format === 'string' && typeof jsonSchema.pattern === 'string') {
    delete jsonSchema.pattern;
  }
  const def = ctx.zodSchema._zod.def as { type: string; catchall?: z.core.$ZodType };
  const strict = def.type === 'object' && def.catchall?._zod.def.type === 'never';
  if (jsonSchema.additionalProperties === false && !strict) delete jsonSchema.additionalProperties;
};

type Json = { [key: string]: unknown };

/**
 * A response that streams Server-Sent Events describes one event per item: OpenAPI 3.2's
 * `itemSchema`. (The route declares it as `schema`, which is how Fastify reads a response.)
 */
function streamItems(document: Json): void {
  for (const pathItem of Object.values((document.paths ?? {}) as Record<string, Json>)) {
    for (const operation of Object.values(pathItem) as Json[]) {
      for (const response of Object.values((operation.responses ?? {}) as Record<string, Json>)) {
        const media = (response.content as Record<string, Json> | undefined)?.[
          EVENT_STREAM_MEDIA_TYPE
        ];
        if (media?.schema === undefined) continue;
        media.itemSchema = media.schema;
        delete media.schema;
      }
    }
  }
}

/**
 * Keeps the components the operations reach. The zod provider writes each named schema twice (as
 * read in requests and as written in answers, `RunInput` and `Run`) whatever the routes use.
 */
function pruneComponents(document: Json): void {
  const schemas = ((document.components as Json | undefined)?.schemas ?? {}) as Json;
  const prefix = '#/components/schemas/';
  const reached = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string' && value.startsWith(prefix)) {
        const name = value.slice(prefix.length);
        if (!reached.has(name)) {
          reached.add(name);
          visit(schemas[name]);
        }
      } else visit(value);
    }
  };
  visit(document.paths);
  for (const name of Object.keys(schemas)) if (!reached.has(name)) delete schemas[name];
}

const transformRoute = createJsonSchemaTransform({ zodToJsonConfig: { override: writeSchema } });
const transformDocument = createJsonSchemaTransformObject({
  zodToJsonConfig: { override: writeSchema },
});

/**
 * The OpenAPI document, built from the routes' zod schemas (the contract's), at
 * `/docs/openapi.json`, and a browsable reference of it at `/docs` (Swagger UI, served from this
 * origin: it runs under the site's strict Content-Security-Policy as it is).
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: OPENAPI_VERSION,
      info: {
        title: 'Runstream API',
        version: '1.0.0',
        summary: 'Runs of agent graphs, and their events as JSON pages or a resumable SSE stream',
        description:
          'Every error answer has the shape `{"error": {"code", "message", "details"}}`; each code ' +
          'has one status. Run ids are UUIDs matched without regard to case. With auth on, every ' +
          "`/v1` request carries `Authorization: Bearer <key>`, and sees only its tenant's runs.",
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      servers: [{ url: '/', description: 'The api that serves this document' }],
      tags: [
        { name: 'runs', description: 'Create, read, list and cancel runs' },
        { name: 'events', description: "A run's events: JSON pages or the SSE stream" },
        {
          name: 'graphs',
          description: 'The graphs the workers registered, runs can be created of',
        },
        { name: 'operations', description: 'Probes and metrics for the platform' },
      ],
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description: 'A key of RUNSTREAM_API_KEYS; with it unset, auth is off',
          },
        },
      },
      security: [{ bearer: [] }],
    },
    transform: transformRoute,
    transformObject: (input) => {
      const document = transformDocument(input) as Json;
      streamItems(document);
      pruneComponents(document);
      return document;
    },
  });
  app.get(OPENAPI_PATH, { schema: { hide: true } }, async () => app.swagger());
  await app.register(fastifySwaggerUi, {
    routePrefix: DOCS_PREFIX,
    uiConfig: { deepLinking: true, layout: 'BaseLayout' },
    theme: { title: 'Runstream API' },
  });
}
