import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ATTEMPT_OUTCOMES } from './webhook-outcomes';

/**
 * SPEC §10 metrics: the one registry of this process and the application's metrics (Prometheus
 * text format, prom-client). One registry per process, so that `npm start` — the API and the worker
 * in one process — exposes both through the API's GET /metrics; a standalone worker exposes the
 * same registry on its own small endpoint (worker/metrics-server.ts). Every name starts with
 * `xingtu_` (the Temporal SDK's own metrics start with `temporal_`, Node's runtime ones with
 * `process_`/`nodejs_`). Label values come from bounded sets only: route patterns, command names,
 * error codes, statuses, reasons, ledger kinds, activity types — never an id or a raw URL.
 *
 * Counters count what happened in this process since it started (Prometheus sums the instances and
 * copes with restarts through rate()); the gauges of orders are read from the database by the API
 * (api/metrics-route.ts), so every API instance reports the same figures: aggregate them with max().
 */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry });

/** Request latency: from 5 ms to the 30 s an order command may wait for its outcome (docs/api.md). */
const LATENCY_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export const httpRequestDuration = new Histogram({
  name: 'xingtu_http_request_duration_seconds',
  help: 'HTTP requests of the API by method, route pattern and status, and their latency (its _count counts the requests)',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: LATENCY_BUCKETS_SECONDS,
  registers: [metricsRegistry],
});

export const commandsTotal = new Counter({
  name: 'xingtu_commands_total',
  help: 'Commands received by the API, by command and outcome (applied, pending, replayed, or the error code)',
  labelNames: ['command', 'outcome'] as const,
  registers: [metricsRegistry],
});

export const ledgerPostingsTotal = new Counter({
  name: 'xingtu_ledger_postings_total',
  help: 'Ledger transactions posted by this process, by kind (a retry that finds its transaction stored posts nothing and counts nothing)',
  labelNames: ['kind'] as const,
  registers: [metricsRegistry],
});

export const activityRetriesTotal = new Counter({
  name: 'xingtu_activity_retries_total',
  help: 'Activity executions that are a retry (attempt 2 or later, or the regular activity after a failed local write), by activity type',
  labelNames: ['activity'] as const,
  registers: [metricsRegistry],
});

export const activityFailuresTotal = new Counter({
  name: 'xingtu_activity_failures_total',
  help: 'Activity attempts that failed (Temporal retries them unless the failure is final), by activity type',
  labelNames: ['activity'] as const,
  registers: [metricsRegistry],
});

export const openOrdersGauge = new Gauge({
  name: 'xingtu_open_orders',
  help: 'Orders not yet terminal, by kind (task, boost) and status, from the read models',
  labelNames: ['kind', 'status'] as const,
  registers: [metricsRegistry],
});

export const stuckOrdersGauge = new Gauge({
  name: 'xingtu_stuck_orders',
  help: 'Entries of the ops stuck list (O1, E5), by reason',
  labelNames: ['reason'] as const,
  registers: [metricsRegistry],
});

export const collectionDuration = new Gauge({
  name: 'xingtu_metrics_collection_duration_seconds',
  help: 'How long the last collection of a source of gauges took',
  labelNames: ['source'] as const,
  registers: [metricsRegistry],
});

export const collectionTimestamp = new Gauge({
  name: 'xingtu_metrics_collected_at_seconds',
  help: 'When a source of gauges was last collected successfully (Unix time); its gauges are as of then',
  labelNames: ['source'] as const,
  registers: [metricsRegistry],
});

export const collectionUp = new Gauge({
  name: 'xingtu_metrics_collection_up',
  help: '1 when the latest collection of a source of gauges succeeded, 0 when it failed (its gauges keep the last values)',
  labelNames: ['source'] as const,
  registers: [metricsRegistry],
});

/** Counts the ledger transactions a write posted (their kinds). */
export function countLedgerPostings(kinds: readonly string[]): void {
  for (const kind of kinds) ledgerPostingsTotal.inc({ kind });
}

export const webhookDeliveriesTotal = new Counter({
  name: 'xingtu_webhook_deliveries_total',
  help: `Webhook delivery attempts by this process (E5), by outcome: ${ATTEMPT_OUTCOMES.join(', ')}`,
  labelNames: ['outcome'] as const,
  registers: [metricsRegistry],
});

export const webhookDeliveryDuration = new Histogram({
  name: 'xingtu_webhook_delivery_duration_seconds',
  help: 'How long a webhook delivery attempt took (E5: at most 10 s), by outcome',
  labelNames: ['outcome'] as const,
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [metricsRegistry],
});

export const webhookDeliveriesPending = new Gauge({
  name: 'xingtu_webhook_deliveries_pending',
  help: 'Webhook deliveries not yet delivered nor given up (E5), from the deliveries table',
  registers: [metricsRegistry],
});

const WEBHOOK_OUTCOMES: ReadonlySet<string> = new Set<string>(ATTEMPT_OUTCOMES);

/** The webhook loop's onAttempt hook (worker/webhook-delivery.ts): one attempt, by outcome. */
export function countWebhookAttempt({ outcome, latencyMs }: { readonly outcome: string; readonly latencyMs: number }): void {
  const label = WEBHOOK_OUTCOMES.has(outcome) ? outcome : 'other';
  webhookDeliveriesTotal.inc({ outcome: label });
  webhookDeliveryDuration.observe({ outcome: label }, latencyMs / 1000);
}
