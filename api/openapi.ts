import { z, type ZodType } from 'zod';
import { API_ERROR_STATUS } from './errors';
import { IDEMPOTENCY_KEY_PATTERN } from './idempotency';
import { attachExamples } from './examples';
import { ErrorBody } from './responses';
import type { RegisteredRoute } from './routes';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Left out of the OpenAPI document: a route that is not part of the JSON API (the console's pages, F6). */
    hidden?: boolean;
  }
}

/**
 * SPEC §8: the OpenAPI 3 document, built from the routes registered on the app (api/routes.ts)
 * and their zod schemas (`z.toJSONSchema`, the input side for requests, the output side for
 * responses). Every route appears, with its roles (`x-roles`), its bearer security, its parameters,
 * its body, its success responses and SPEC §8's error body for every refusal it can answer.
 */

export const OPENAPI_PATH = '/v1/openapi.json';
export const DOCS_PATH = '/docs';

/** The statuses of SPEC §8's refusals (and of 503 unavailable), each with the codes that answer it. */
const ERROR_STATUSES = [...new Set(Object.values(API_ERROR_STATUS))].sort((a, b) => a - b);

/** SPEC §8: every 503 and every 429 says when to retry. */
export const RETRY_AFTER_HEADER = { 'Retry-After': { description: 'seconds to wait before retrying', schema: { type: 'integer', minimum: 0 } } } as const;

/** The headers some error statuses carry (401's challenge, 429's and 503's retry delay). */
const ERROR_HEADERS: Readonly<Record<number, Record<string, unknown>>> = {
  401: { 'WWW-Authenticate': { schema: { type: 'string' } } },
  429: RETRY_AFTER_HEADER, // rate_limited: sign-in and the expensive reads (issue 18)
  503: RETRY_AFTER_HEADER,
};

type JsonSchema = Record<string, unknown>;

export interface OpenApiOperation {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  'x-roles': string[];
  security: Array<Record<string, string[]>>;
  parameters: Array<{ name: string; in: 'path' | 'query' | 'header'; required: boolean; description?: string; schema: JsonSchema }>;
  requestBody?: { required: boolean; content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: JsonSchema }>; headers?: Record<string, unknown> }>;
}

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description: string };
  servers: Array<{ url: string }>;
  tags: Array<{ name: string }>;
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { securitySchemes: Record<string, unknown>; schemas: Record<string, JsonSchema> };
}

export interface OpenApiInfo {
  readonly title: string;
  readonly version: string;
  readonly description: string;
}

export function jsonSchema(schema: ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
    io,
    target: 'openapi-3.0',
    unrepresentable: 'any',
    override: ({ jsonSchema: json }) => {
      if (typeof json.pattern === 'string') json.pattern = asciiDigits(json.pattern);
      if (json.format === 'int64') withoutSafeIntegerBounds(json);
    },
  }) as JsonSchema;
  return rest;
}

/** An int64 amount (api/responses.ts Fen) is any JSON integer: the ±2^53 bounds are zod's, not the API's. */
function withoutSafeIntegerBounds(json: Record<string, unknown>): void {
  if (json.maximum === Number.MAX_SAFE_INTEGER) delete json.maximum;
  if (json.minimum === Number.MIN_SAFE_INTEGER) delete json.minimum;
}

/**
 * `\d` is an ASCII digit in JavaScript but any Unicode digit in other regex dialects (Python's,
 * which generates test data from the document): spell it `0-9` so the document means what the
 * API checks.
 */
export function asciiDigits(pattern: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i += 1) {
    const c = pattern[i] as string;
    if (c === '\\') {
      const next = pattern[i + 1] ?? '';
      out += next === 'd' ? (inClass ? '0-9' : '[0-9]') : c + next;
      i += 1;
    } else {
      if (c === '[') inClass = true;
      else if (c === ']') inClass = false;
      out += c;
    }
  }
  return out;
}

/** `/v1/task-orders/:orderId/accept` → `/v1/task-orders/{orderId}/accept` */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function operationId(method: string, url: string): string {
  const words = `${method.toLowerCase()} ${url}`.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return words.map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1))).join('');
}

function objectProperties(schema: JsonSchema): { properties: Record<string, JsonSchema>; required: string[] } {
  return {
    properties: (schema.properties ?? {}) as Record<string, JsonSchema>,
    required: (schema.required ?? []) as string[],
  };
}

const ERROR_REF = { $ref: '#/components/schemas/Error' };

export function buildOpenApiDocument(routes: readonly RegisteredRoute[], info: OpenApiInfo): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  const tags = new Set<string>();
  for (const route of [...routes].sort((a, b) => a.url.localeCompare(b.url) || a.method.localeCompare(b.method))) {
    const { method, url, config } = route;
    if (config.hidden === true) continue; // not part of the JSON API (the console's HTML pages, F6)
    const doc = config.doc;
    const isPublic = config.public === true;
    const roles = [...(config.roles ?? [])];
    const path = openApiPath(url);
    const tag = doc?.tags?.[0] ?? (url.split('/').filter(Boolean).slice(url.startsWith('/v1/') ? 1 : 0)[0] ?? 'root');
    tags.add(tag);

    const parameters: OpenApiOperation['parameters'] = [];
    const pathNames = [...url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1] as string);
    const paramsSchema = doc?.params ? objectProperties(jsonSchema(doc.params, 'input')) : undefined;
    for (const name of pathNames) {
      parameters.push({ name, in: 'path', required: true, schema: paramsSchema?.properties[name] ?? { type: 'string' } });
    }
    if (doc?.query) {
      const query = objectProperties(jsonSchema(doc.query, 'input'));
      for (const [name, schema] of Object.entries(query.properties)) {
        const { description, ...rest } = schema;
        parameters.push({ name, in: 'query', required: query.required.includes(name), ...(typeof description === 'string' ? { description } : {}), schema: rest });
      }
    }
    if (method === 'POST') {
      parameters.push({
        name: 'Idempotency-Key',
        in: 'header',
        required: false,
        description: 'Retrying with the same key and the same body replays the first response (for 24 hours) instead of running the request again; the same key with another body is 422 idempotency_mismatch.',
        schema: { type: 'string', minLength: 1, maxLength: 128, pattern: IDEMPOTENCY_KEY_PATTERN.source },
      });
    }

    const responses: OpenApiOperation['responses'] = {};
    for (const [status, response] of Object.entries(doc?.responses ?? { 200: { description: 'OK' } })) {
      const contentType = response.contentType ?? 'application/json';
      // A refusal a route documents itself (e.g. its own 403) has SPEC §8's error body.
      const isError = Number(status) >= 400 && (response.schema === undefined || response.schema === ErrorBody);
      const schema = isError ? ERROR_REF : response.schema ? jsonSchema(response.schema, 'output') : contentType === 'application/json' ? {} : { type: 'string' };
      responses[status] = { description: response.description, content: { [contentType]: { schema } }, ...(response.headers ? { headers: { ...response.headers } } : {}) };
    }
    if (!isPublic) {
      for (const status of ERROR_STATUSES) {
        const codes = Object.entries(API_ERROR_STATUS).filter(([, s]) => s === status).map(([code]) => code);
        responses[String(status)] ??= {
          description: status === 503 ? 'unavailable: PostgreSQL or Temporal cannot be reached right now; retry after Retry-After seconds' : `refused: ${codes.join(', ')}`,
          content: { 'application/json': { schema: ERROR_REF } },
          ...(ERROR_HEADERS[status] ? { headers: ERROR_HEADERS[status] } : {}),
        };
      }
    }

    const operation: OpenApiOperation = {
      operationId: operationId(method, url),
      summary: doc?.summary ?? `${method} ${url}`,
      ...(doc?.description ? { description: doc.description } : {}),
      tags: [tag],
      'x-roles': isPublic ? [] : roles,
      security: isPublic ? [] : [{ bearerAuth: [] }],
      parameters,
      ...(doc?.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(doc.body, 'input') } } } } : {}),
      responses,
    };
    (paths[path] ??= {})[method.toLowerCase()] = operation;
  }
  attachExamples({ paths }); // request/response examples recorded from real calls (api/examples, issue 12)
  return {
    openapi: '3.0.3',
    info: { ...info },
    servers: [{ url: '/' }],
    tags: [...tags].sort().map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'A token configured in API_TOKENS; its role (backend, ops, finance, or metrics for GET /metrics only) decides which operations it may call (x-roles).' } },
      schemas: { Error: jsonSchema(ErrorBody, 'output') },
    },
  };
}
