import type { FastifyContextConfig, FastifyInstance, FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify';
import type { z, ZodType } from 'zod';
import type { ApiRole } from '../platform/config';
import './auth'; // the `roles` and `public` route options
import { ApiError } from './errors';
import { unstorableTextIssues } from './schemas';

/**
 * The route registry: every API route is declared once, with its roles, its zod schemas and its
 * responses, through `defineRoute`. That one declaration registers the fastify route (whose handler
 * receives the parsed input) and describes it for the OpenAPI document (api/openapi.ts), so the
 * document cannot drift from what the route accepts.
 *
 *     defineRoute(app, {
 *       method: 'POST', path: '/v1/task-orders/:orderId/accept', roles: ['backend'],
 *       summary: 'The creator accepts the order (T8, T9)',
 *       params: OrderIdParams, body: AcceptBody,
 *       responses: { 200: { description: 'the order after the command', schema: TaskOrderView } },
 *       handler: async ({ params, body }) => …,
 *     });
 *
 * A route registered directly (`app.get(path, { config: { roles: ['ops'] } }, handler)`) is still
 * checked for its roles and still listed in the document, with its path parameters only.
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ResponseDoc {
  readonly description: string;
  /** The body's schema (its output side is documented). */
  readonly schema?: ZodType;
  /** Default application/json. */
  readonly contentType?: string;
  /** Response headers worth documenting (e.g. Retry-After), as OpenAPI header objects. */
  readonly headers?: Readonly<Record<string, { readonly description?: string; readonly schema: Readonly<Record<string, unknown>> }>>;
}

/** What the OpenAPI document says about a route (kept in its fastify config as `doc`). */
export interface RouteDoc {
  readonly summary: string;
  readonly description?: string;
  readonly tags?: readonly string[];
  readonly params?: ZodType;
  readonly query?: ZodType;
  readonly body?: ZodType;
  /** The success responses by status; the §8 error responses are added for every protected route. */
  readonly responses: Readonly<Record<number, ResponseDoc>>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    doc?: RouteDoc;
  }
}

type Parsed<S> = S extends ZodType ? z.output<S> : undefined;

export interface RouteInput<P, Q, B> {
  readonly params: Parsed<P>;
  readonly query: Parsed<Q>;
  readonly body: Parsed<B>;
}

export interface RouteSpec<P extends ZodType | undefined, Q extends ZodType | undefined, B extends ZodType | undefined> extends Omit<RouteDoc, 'params' | 'query' | 'body'> {
  readonly method: HttpMethod;
  /** fastify syntax: `/v1/task-orders/:orderId` */
  readonly path: string;
  /** The roles whose tokens may call the route, or 'public' (no token needed). */
  readonly roles: readonly ApiRole[] | 'public';
  readonly params?: P;
  readonly query?: Q;
  readonly body?: B;
  /** What of an answer is stored for Idempotency-Key replays (api/idempotency.ts); default all of it. */
  readonly storedAnswer?: (body: string) => string;
  /** Runs after the role check and before the handler (fastify's route option). */
  readonly preHandler?: RouteShorthandOptions['preHandler'];
  /** Runs with the parsed input; returns the body to send, or the reply it sent. */
  readonly handler: (input: RouteInput<P, Q, B>, request: FastifyRequest, reply: FastifyReply) => unknown;
}

export function defineRoute<P extends ZodType | undefined = undefined, Q extends ZodType | undefined = undefined, B extends ZodType | undefined = undefined>(
  app: FastifyInstance,
  spec: RouteSpec<P, Q, B>,
): void {
  const { method, path, roles, params, query, body, preHandler, handler, storedAnswer, ...doc } = spec;
  const config: FastifyContextConfig = {
    ...(roles === 'public' ? { public: true } : { roles }),
    ...(storedAnswer ? { storedAnswer } : {}),
    doc: { ...doc, ...(params ? { params } : {}), ...(query ? { query } : {}), ...(body ? { body } : {}) },
  };
  app.route({
    method,
    url: path,
    config,
    ...(preHandler ? { preHandler } : {}),
    handler: async (request, reply) => {
      const input = {
        params: params ? parseInput(params, request.params) : undefined,
        query: query ? parseInput(query, request.query) : undefined,
        body: body ? parseInput(body, request.body) : undefined,
      } as RouteInput<P, Q, B>;
      return handler(input, request, reply);
    },
  });
}

/** Validates input with a zod schema; refusals are SPEC §8's `400 validation_failed` with the issues. */
export function parseInput<S extends ZodType>(schema: S, input: unknown): z.output<S> {
  const unstorable = unstorableTextIssues(input);
  if (unstorable.length > 0) throw new ApiError('validation_failed', 'the request is not valid', unstorable);
  const result = schema.safeParse(input ?? {});
  if (!result.success) {
    throw new ApiError('validation_failed', 'the request is not valid', result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
  }
  return result.data;
}

/** A route as registered on the app (whichever way), for the OpenAPI document. */
export interface RegisteredRoute {
  readonly method: string;
  readonly url: string;
  readonly config: FastifyContextConfig;
}

/**
 * Records every route registered on `app` from now on (an onRoute hook, so routes that other
 * modules register later, in any way, are included).
 */
export function recordRoutes(app: FastifyInstance): RegisteredRoute[] {
  const routes: RegisteredRoute[] = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) routes.push({ method, url: route.url, config: route.config ?? {} });
  });
  return routes;
}
