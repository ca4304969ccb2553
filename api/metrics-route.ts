import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Db } from '../db/connect';
import { cachedCollector, type CachedCollector } from '../platform/metrics-cache';
import { commandName, commandOutcome, errorCodeOf, routeLabel } from '../platform/metrics-commands';
import { countOpenOrders, countPendingWebhookDeliveries } from '../db/metrics-queries';
import { openOrderSeries, stuckSeries } from './metrics-orders';
import { PROMETHEUS_CONTENT_TYPE, renderExposition } from '../platform/metrics-text';
import { collectionDuration, collectionTimestamp, collectionUp, commandsTotal, httpRequestDuration, openOrdersGauge, stuckOrdersGauge, webhookDeliveriesPending } from '../platform/metrics';
import { API_ERROR_STATUS } from './errors';
import { createOpsService } from './ops-service';
import { defineRoute } from './routes';

/**
 * SPEC §10 GET /metrics (Prometheus text format) and the hooks that count HTTP requests and
 * commands. Only tokens of the `metrics` role may read it (API_TOKENS `metrics:<token>`): a scraper
 * needs no order or ledger rights, and no backend/ops/finance token can read it either.
 */
export interface MetricsOptions {
  /** The gauges read from the database and Temporal are collected at most this often (default 30 s). */
  readonly collectIntervalMs?: number;
  /** A scrape waits at most this long for a fresh collection, else it answers the last one (default 5 s). */
  readonly collectWaitMs?: number;
  /** The SDK runtime's Prometheus exporter of this process (`npm start`), merged into the answer. */
  readonly sdkMetricsUrl?: string | undefined;
}

export interface MetricsDeps extends MetricsOptions {
  readonly db: Db;
  readonly client: Client;
  readonly nowMs: () => Promise<number>;
  readonly log?: (message: string, error: unknown) => void;
}

export const METRICS_PATH = '/metrics';
const DEFAULT_COLLECT_INTERVAL_MS = 30_000;
const DEFAULT_COLLECT_WAIT_MS = 5_000;
const KNOWN_ERROR_CODES: ReadonlySet<string> = new Set([...Object.keys(API_ERROR_STATUS), 'internal']);

declare module 'fastify' {
  interface FastifyRequest {
    /** The error code of the body this request was answered with (read in onSend for the command counter). */
    metricsErrorCode?: string;
  }
}

/** Counts every request (route pattern, status, latency) and every command (name, outcome). */
export function installRequestMetrics(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode >= 400) {
      const code = errorCodeOf(payload);
      if (code !== undefined) request.metricsErrorCode = code;
    }
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    const pattern = request.is404 ? undefined : request.routeOptions.url;
    const status = reply.statusCode;
    httpRequestDuration.observe({ method: request.method, route: routeLabel(pattern, request.is404), status: String(status) }, reply.elapsedTime / 1000);
    const command = commandName(request.method, pattern);
    if (command === undefined) return;
    const replayed = reply.getHeader('idempotent-replayed') === 'true';
    commandsTotal.inc({ command, outcome: commandOutcome(status, request.metricsErrorCode, replayed, KNOWN_ERROR_CODES) });
  });
}

interface Gauges {
  readonly open: CachedCollector<Awaited<ReturnType<typeof countOpenOrders>>>;
  readonly stuck: CachedCollector<Awaited<ReturnType<ReturnType<typeof createOpsService>['stuck']>>>;
  readonly webhooks: CachedCollector<number>;
}

/** GET /metrics: refreshes the cached gauges (bounded, see platform/metrics-cache.ts) and answers the exposition. */
export function registerMetricsRoute(app: FastifyInstance, deps: MetricsDeps): void {
  const gauges = createGaugeCollectors(deps);
  defineRoute(app, {
    method: 'GET',
    path: METRICS_PATH,
    roles: ['metrics'],
    tags: ['meta'],
    summary: 'Metrics in the Prometheus text format (SPEC §10)',
    description:
      'HTTP requests by route and status with latency histograms, commands by outcome, open orders by status, stuck orders by reason, ledger postings, activity retries and, in `npm start`, the Temporal SDK metrics of the worker in this process. The order gauges are collected at most every 30 s. See docs/operations.md.',
    responses: {
      200: {
        description: 'the Prometheus text exposition (format 0.0.4)',
        contentType: 'text/plain',
        schema: z.string().describe('Prometheus text exposition format 0.0.4: `# HELP`, `# TYPE` and sample lines'),
      },
    },
    handler: async (_input, _request, reply) => {
      await refreshGauges(gauges);
      const text = await renderExposition({ sdkMetricsUrl: deps.sdkMetricsUrl });
      return reply.type(PROMETHEUS_CONTENT_TYPE).header('cache-control', 'no-store').send(text);
    },
  });
}

function createGaugeCollectors({ db, client, nowMs, collectIntervalMs = DEFAULT_COLLECT_INTERVAL_MS, collectWaitMs = DEFAULT_COLLECT_WAIT_MS, log }: MetricsDeps): Gauges {
  const ops = createOpsService({ db, client, nowMs });
  const options = (source: string) => ({ maxAgeMs: collectIntervalMs, waitMs: collectWaitMs, onError: (error: unknown) => log?.(`metrics: collecting ${source} failed`, error) });
  return {
    open: cachedCollector(timed('open_orders', () => countOpenOrders(db)), options('open_orders')),
    stuck: cachedCollector(timed('stuck_orders', () => ops.stuck()), options('stuck_orders')),
    webhooks: cachedCollector(timed('webhook_deliveries', () => countPendingWebhookDeliveries(db)), options('webhook_deliveries')),
  };
}

/** Measures a collection's duration into xingtu_metrics_collection_duration_seconds. */
function timed<T>(source: string, collect: () => Promise<T>): () => Promise<T> {
  return async () => {
    const started = performance.now();
    try {
      return await collect();
    } finally {
      collectionDuration.set({ source }, (performance.now() - started) / 1000);
    }
  };
}

async function refreshGauges(gauges: Gauges): Promise<void> {
  const [open, stuck, webhooks] = await Promise.all([gauges.open.get(), gauges.stuck.get(), gauges.webhooks.get()]);
  if (open.value) {
    openOrdersGauge.reset();
    for (const { kind, status, n } of openOrderSeries(open.value)) openOrdersGauge.set({ kind, status }, n);
  }
  if (stuck.value) {
    stuckOrdersGauge.reset();
    for (const { reason, n } of stuckSeries(stuck.value.entries)) stuckOrdersGauge.set({ reason }, n);
  }
  if (webhooks.value !== undefined) webhookDeliveriesPending.set(webhooks.value);
  for (const [source, collected] of [['open_orders', open], ['stuck_orders', stuck], ['webhook_deliveries', webhooks]] as const) {
    collectionUp.set({ source }, collected.lastFailed || collected.value === undefined ? 0 : 1);
    if (collected.collectedAtMs !== undefined) collectionTimestamp.set({ source }, collected.collectedAtMs / 1000);
  }
}
