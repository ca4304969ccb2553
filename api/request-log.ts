import type { FastifyInstance, FastifyRequest, FastifyServerOptions } from 'fastify';

/**
 * Issue 18: the API's log, through Fastify's pino logger. One line per request (`request`: method,
 * route pattern, status, ms; pino adds the request id `reqId`), a stack per 500 (api/app.ts
 * sendError), and the request with its headers at `debug` only. Never a credential: Authorization,
 * cookies and Set-Cookie are redacted wherever they appear, and no body is ever logged (a body
 * may carry a `whsec_` secret or a token typed into the console's sign-in form).
 */
export type LoggerOption = boolean | { readonly stream: NodeJS.WritableStream; readonly level?: string };

export const REDACTED_LOG_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  'request.headers.authorization',
  'res.headers["set-cookie"]',
];

interface LoggedRequest {
  method: string;
  url: string;
  headers: Record<string, unknown>;
  ip?: string;
}

export function loggerOptions(logger: LoggerOption | undefined): FastifyServerOptions['logger'] {
  if (!logger) return false;
  return {
    level: typeof logger === 'object' ? (logger.level ?? 'info') : 'info',
    ...(typeof logger === 'object' ? { stream: logger.stream } : {}),
    redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' },
    serializers: {
      // Headers only (redacted above): never the body.
      req: (request: LoggedRequest) => ({ method: request.method, url: request.url, headers: { ...request.headers }, remoteAddress: request.ip }),
    },
  };
}

/**
 * Fastify's own request logging is off (`disableRequestLogging`): it writes two lines per request
 * at `info`. These hooks write the request with its headers at `debug` and one summary at `info`.
 */
export function installRequestLog(app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => {
    request.log.debug({ req: request }, 'incoming request');
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info({ method: request.method, route: routeOf(request), status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });
}

/** The route pattern (ids stay out of the summary); the path without its query when no route matched. */
function routeOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? request.url.split('?')[0] ?? '';
}
