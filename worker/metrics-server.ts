import { createServer, type Server } from 'node:http';
import { createTokenVerifier, bearerToken } from '../api/auth';
import { PROMETHEUS_CONTENT_TYPE, renderExposition } from '../platform/metrics-text';

/**
 * A standalone worker's metrics endpoint (SPEC §10): GET /metrics answers this process's registry
 * (activity retries, ledger postings, Node runtime) and the Temporal SDK's metrics, read from the
 * SDK runtime's Prometheus exporter on loopback — one target per worker for Prometheus. A tiny
 * node:http server: the worker has no HTTP framework and needs none for one read-only route.
 *
 * Protection: with a token (METRICS_TOKEN), `Authorization: Bearer <token>` is required (compared
 * in constant time, like the API's tokens); without one it refuses to listen anywhere but loopback.
 */
export interface WorkerMetricsServerOptions {
  readonly host: string;
  readonly port: number;
  readonly token: string | undefined;
  readonly sdkMetricsUrl: string | undefined;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export async function startWorkerMetricsServer({ host, port, token, sdkMetricsUrl }: WorkerMetricsServerOptions): Promise<{ server: Server; port: number; close: () => Promise<void> }> {
  if (token === undefined && !LOOPBACK.has(host)) {
    throw new Error(`the worker's metrics endpoint listens on ${host}: set METRICS_TOKEN (or WORKER_METRICS_HOST=127.0.0.1)`);
  }
  const verify = token === undefined ? undefined : createTokenVerifier([{ role: 'metrics', token }]);
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' || path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'not_found', message: 'GET /metrics only' } }));
      return;
    }
    const presented = bearerToken(request.headers.authorization);
    if (verify && (presented === undefined || verify(presented) === undefined)) {
      response.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' }).end(JSON.stringify({ error: { code: 'unauthenticated', message: 'send Authorization: Bearer <METRICS_TOKEN>' } }));
      return;
    }
    renderExposition({ sdkMetricsUrl }).then(
      (text) => response.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' }).end(text),
      (error: unknown) => response.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'unavailable', message: String(error) } })),
    );
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.maxHeadersCount = 50;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return {
    server,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // a scraper's keep-alive connection must not hold the shutdown
      }),
  };
}
