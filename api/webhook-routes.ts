import { ORDER_KINDS } from '../domain/order-kind';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Db } from '../db/connect';
import { decodeFeedCursor, encodeFeedCursor, feedEventId, orderIdOfRow, parseFeedEventId } from '../db/event-feed';
import { ATTEMPT_OUTCOMES } from '../platform/webhook-outcomes';
import {
  ATTEMPTS_LISTED,
  MAX_REDELIVER_EVENTS,
  MAX_WEBHOOK_ENDPOINTS,
  RedeliverTooLarge,
  createEndpoint,
  deleteEndpoint,
  getEndpoint,
  listDeliveries,
  listEndpoints,
  newEndpointId,
  redeliverEvent,
  redeliverSince,
  rotateSecret,
  type DeliveryListing,
  type EndpointRow,
} from '../db/webhooks';
import { checkWebhookUrl, MAX_WEBHOOK_URL_LENGTH, type WebhookUrlPolicy } from '../platform/url-safety';
import { generateWebhookSecret } from '../platform/webhook-signing';
import { EVENT_TYPES } from './events-routes';
import type { SecretBox } from '../platform/secret-box';
import { ApiError } from './errors';
import { defineRoute } from './routes';
import { Id, Instant, QueryLimit, Text } from './schemas';

/** E5: webhook endpoints, their deliveries and redelivery (docs/webhooks.md). */

import { At } from './responses';
const EventType = z.enum(EVENT_TYPES as [string, ...string[]]);
const DEFAULT_GRACE_SECONDS = 24 * 3600;
const MAX_GRACE_SECONDS = 7 * 24 * 3600;

export const WebhookEndpoint = z.object({
  endpointId: z.string(),
  url: z.string(),
  description: z.string().nullable(),
  eventTypes: z.array(z.string()).nullable().describe('null: every event type'),
  status: z.enum(['active', 'disabled', 'deleted']).describe('disabled: failing for 3 days (E5); a redelivery enables it again'),
  failingStartedAt: At.nullable().describe('the first failure since the last success'),
  disabledAt: At.nullable(),
  previousSecretExpiresAt: At.nullable().describe('until then, the secret before the last rotation signs too'),
  createdAt: At,
  updatedAt: At,
});
const WithSecret = z.object({
  endpoint: WebhookEndpoint,
  secret: z
    .string()
    .nullable()
    .describe(
      'whsec_…: shown only in this answer; verify every webhook with it (Standard Webhooks). null when the answer is an Idempotency-Key replay ' +
        '(Idempotent-Replayed: true): the secret is never stored outside the endpoint, so a client that lost the first answer rotates the secret.',
    ),
});

/**
 * Issue 18: what of a secret-bearing answer the idempotency record keeps: everything but the
 * secret, so idempotency_keys never holds a `whsec_…` in clear (not even after the endpoint is
 * deleted) and a retry with the same key still answers the same endpoint, without a second one.
 */
export function withoutSecret(body: string): string {
  try {
    const answer = JSON.parse(body) as Record<string, unknown>;
    return answer !== null && typeof answer === 'object' && 'secret' in answer ? JSON.stringify({ ...answer, secret: null }) : body;
  } catch {
    return body; // not JSON: not one of our answers with a secret
  }
}

/** Only the backend owns its webhooks (issue 18): ops may look and redeliver, never register, rotate or delete. */
const OWNER_ONLY = { description: "forbidden: only the backend's token registers, rotates and deletes webhook endpoints (ops may list them and redeliver)" };
const EndpointList = z.object({ endpoints: z.array(WebhookEndpoint) });

const Attempt = z.object({
  attemptNo: z.number().int().min(1),
  attemptedAt: At,
  outcome: z.enum(ATTEMPT_OUTCOMES),
  statusCode: z.number().int().nullable(),
  latencyMs: z.number().int().min(0),
  responseSnippet: z.string().nullable().describe('the start of the response body'),
  error: z.string().nullable(),
});
const Delivery = z.object({
  eventId: z.string(),
  eventType: z.string(),
  orderId: z.string(),
  orderKind: z.enum(ORDER_KINDS),
  status: z.enum(['pending', 'delivered', 'failed']).describe('failed: gave up after 3 days of failures (ops may redeliver)'),
  attemptCount: z.number().int().min(0),
  nextAttemptAt: At.nullable(),
  deliveredAt: At.nullable(),
  lastOutcome: z.string().nullable(),
  lastStatusCode: z.number().int().nullable(),
  createdAt: At,
  attempts: z.array(Attempt).describe(`the newest ${ATTEMPTS_LISTED} attempts, oldest first`),
});
const DeliveryPage = z.object({ deliveries: z.array(Delivery), nextCursor: z.string().nullable() });
const Redelivered = z.object({ endpointId: z.string(), scheduled: z.number().int().min(0) });

const EndpointParams = z.strictObject({ endpointId: Id });
const CreateBody = z.strictObject({
  url: z.string().min(1).max(MAX_WEBHOOK_URL_LENGTH),
  eventTypes: z.array(EventType).min(1).max(32).refine((t) => new Set(t).size === t.length, 'eventTypes must not repeat').optional().describe('omitted: every event type'),
  description: Text(500).optional(),
});
const RotateBody = z.strictObject({
  graceSeconds: z.number().int().min(0).max(MAX_GRACE_SECONDS).default(DEFAULT_GRACE_SECONDS).describe('how long the old secret keeps signing too (default 24 h)'),
});
const RedeliverBody = z.union([
  z.strictObject({ eventId: z.string().max(40).describe('an event id (evt_…) from the feed') }),
  z.strictObject({ sinceAt: Instant.describe(`every event recorded at or after this (at most ${MAX_REDELIVER_EVENTS})`) }),
]);
const DeliveriesQuery = z.strictObject({
  limit: QueryLimit(100, 50),
  before: z.string().max(80).optional().describe('a nextCursor of an earlier page'),
  eventId: z.string().max(40).optional(),
});

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

function endpointJson(row: EndpointRow): z.output<typeof WebhookEndpoint> {
  return {
    endpointId: row.endpoint_id, url: row.url, description: row.description, eventTypes: row.event_types, status: row.status,
    failingStartedAt: iso(row.failing_since), disabledAt: iso(row.disabled_at), previousSecretExpiresAt: iso(row.previous_secret_expires_at),
    createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString(),
  };
}

function deliveryJson(row: DeliveryListing): z.output<typeof Delivery> {
  return {
    eventId: feedEventId(row.notification_id), eventType: row.kind, orderId: orderIdOfRow(row), orderKind: row.order_kind,
    status: row.status, attemptCount: row.attempt_count, nextAttemptAt: row.status === 'pending' ? row.next_attempt_at.toISOString() : null,
    deliveredAt: iso(row.delivered_at), lastOutcome: row.last_outcome, lastStatusCode: row.last_status_code, createdAt: row.created_at.toISOString(),
    attempts: row.attempts.map((a) => ({ attemptNo: a.attempt_no, attemptedAt: a.attempted_at.toISOString(), outcome: a.outcome, statusCode: a.status_code, latencyMs: a.latency_ms, responseSnippet: a.response_snippet, error: a.error })),
  };
}

function notFound(endpointId: string): ApiError {
  return new ApiError('not_found', `webhook endpoint ${endpointId} not found`);
}

/** A query value that is not what it must be: SPEC §8's 400, like a schema mismatch. */
function invalid(path: string, message: string): ApiError {
  return new ApiError('validation_failed', 'the request is not valid', [{ path, message }]);
}

export function registerWebhookRoutes(app: FastifyInstance, { db, urlPolicy, secrets }: { db: Db; urlPolicy: WebhookUrlPolicy; secrets: SecretBox }): void {
  const tags = ['webhooks'];
  const endpointResponse = { 200: { description: 'the endpoint', schema: WebhookEndpoint } };

  defineRoute(app, {
    method: 'POST', path: '/v1/webhook-endpoints', roles: ['backend'], tags,
    summary: 'E5: register a webhook endpoint; its secret is shown once',
    description: `https only (http to a loopback host in local development); private-range targets are refused unless configured. At most ${MAX_WEBHOOK_ENDPOINTS} endpoints. Delivery starts with the events committed from now on.`,
    body: CreateBody,
    storedAnswer: withoutSecret,
    responses: { 201: { description: 'registered', schema: WithSecret }, 403: OWNER_ONLY },
    handler: async ({ body }, _request, reply) => {
      const checked = checkWebhookUrl(body.url, urlPolicy);
      if (!checked.ok) throw invalid('url', checked.reason);
      const secret = generateWebhookSecret();
      const row = await createEndpoint(db, { endpointId: newEndpointId(), url: checked.url.href, description: body.description || null, eventTypes: body.eventTypes ?? null, secret }, secrets);
      if (!row) throw new ApiError('invalid_state', `there are already ${MAX_WEBHOOK_ENDPOINTS} webhook endpoints: delete one first`);
      return reply.code(201).send({ endpoint: endpointJson(row), secret });
    },
  });

  defineRoute(app, {
    method: 'GET', path: '/v1/webhook-endpoints', roles: ['backend', 'ops'], tags,
    summary: 'E5: the registered webhook endpoints (never their secrets)',
    responses: { 200: { description: 'every endpoint not deleted', schema: EndpointList } },
    handler: async () => ({ endpoints: (await listEndpoints(db)).map(endpointJson) }),
  });

  defineRoute(app, {
    method: 'GET', path: '/v1/webhook-endpoints/:endpointId', roles: ['backend', 'ops'], tags,
    summary: 'E5: one webhook endpoint', params: EndpointParams, responses: endpointResponse,
    handler: async ({ params }) => {
      const row = await getEndpoint(db, params.endpointId);
      if (!row) throw notFound(params.endpointId);
      return endpointJson(row);
    },
  });

  defineRoute(app, {
    method: 'DELETE', path: '/v1/webhook-endpoints/:endpointId', roles: ['backend'], tags,
    summary: 'E5: delete a webhook endpoint: nothing more is sent to it, its secrets are forgotten',
    params: EndpointParams,
    responses: { 200: { description: 'deleted', schema: WebhookEndpoint }, 403: OWNER_ONLY },
    handler: async ({ params }) => {
      const row = await deleteEndpoint(db, params.endpointId);
      if (!row) throw notFound(params.endpointId);
      return endpointJson(row);
    },
  });

  defineRoute(app, {
    method: 'POST', path: '/v1/webhook-endpoints/:endpointId/rotate-secret', roles: ['backend'], tags,
    summary: 'E5: a new secret, shown once; the old one keeps signing for the grace period (two signatures)',
    params: EndpointParams, body: RotateBody,
    storedAnswer: withoutSecret,
    responses: { 200: { description: 'rotated', schema: WithSecret }, 403: OWNER_ONLY },
    handler: async ({ params, body }) => {
      const secret = generateWebhookSecret();
      const row = await rotateSecret(db, params.endpointId, secret, body.graceSeconds, secrets);
      if (!row) throw notFound(params.endpointId);
      return { endpoint: endpointJson(row), secret };
    },
  });

  defineRoute(app, {
    method: 'GET', path: '/v1/webhook-endpoints/:endpointId/deliveries', roles: ['backend', 'ops'], tags,
    summary: 'E5: deliveries to an endpoint, newest event first, each with its attempts (status, latency, response)',
    params: EndpointParams, query: DeliveriesQuery,
    responses: { 200: { description: 'one page of deliveries', schema: DeliveryPage } },
    handler: async ({ params, query }) => {
      const before = query.before === undefined ? undefined : decodeFeedCursor(query.before);
      if (query.before !== undefined && !before) throw invalid('before', 'invalid cursor');
      const eventId = query.eventId === undefined ? undefined : parseFeedEventId(query.eventId);
      if (query.eventId !== undefined && eventId === undefined) throw invalid('eventId', 'an event id is evt_ and a number');
      if (!(await getEndpoint(db, params.endpointId))) throw notFound(params.endpointId);
      const rows = await listDeliveries(db, params.endpointId, { limit: query.limit, before, eventId });
      const last = rows.length === query.limit ? rows[rows.length - 1] : undefined;
      return { deliveries: rows.map(deliveryJson), nextCursor: last ? encodeFeedCursor({ xid: last.writer_xid, id: last.notification_id }) : null };
    },
  });

  defineRoute(app, {
    method: 'POST', path: '/v1/webhook-endpoints/:endpointId/redeliver', roles: ['ops'], tags,
    summary: 'E5: ops send one event again, or every event since a time; a disabled endpoint is enabled again',
    params: EndpointParams, body: RedeliverBody,
    responses: { 200: { description: 'scheduled (sent by the delivery loop within seconds)', schema: Redelivered } },
    handler: async ({ params, body }) => {
      if (!(await getEndpoint(db, params.endpointId))) throw notFound(params.endpointId);
      if ('eventId' in body) {
        const id = parseFeedEventId(body.eventId);
        if (id === undefined || !(await redeliverEvent(db, params.endpointId, id))) throw new ApiError('not_found', `event ${body.eventId} not found`);
        return { endpointId: params.endpointId, scheduled: 1 };
      }
      try {
        return { endpointId: params.endpointId, ...(await redeliverSince(db, params.endpointId, new Date(body.sinceAt))) };
      } catch (error) {
        if (error instanceof RedeliverTooLarge) throw new ApiError('invalid_state', `${error.message}: choose a later time`, { maxEvents: MAX_REDELIVER_EVENTS });
        throw error;
      }
    },
  });
}
