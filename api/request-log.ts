import { LogController, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';

/**
 * Issue 18: the API's log, through Fastify's pino logger. One line per request (`request`: method,
 * route pattern, status, ms; pino adds the request id `reqId`), a stack per 500 (api/app.ts
 * sendError), and the request with its headers at `debug` only (OneLinePerRequest below). Never a credential: Authorization,
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
 * Fastify's per-request log lines, reshaped (its LogController): the request with its headers at
 * `debug`, and one summary line at `info` when the response is sent (Fastify's default is two
 * lines at `info` and a third for a 404).
 */
class OneLinePerRequest extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = { method: request.method, route: routeOf(request), status: reply.statusCode, ms: Math.round(reply.elapsedTime) };
    if (error) request.log.error({ ...line, err: error }, 'request errored');
    else request.log.info(line, 'request');
  }

  override routeNotFound(): void {
    // requestCompleted logs the 404 (route: the path without its query).
  }
}

export function logController(): LogController {
  return new OneLinePerRequest();
}

/** The route pattern (ids stay out of the summary); the path without its query when no route matched. */
function routeOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? request.url.split('?')[0] ?? '';
}
