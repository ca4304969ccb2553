import { sql } from 'kysely';
import { createActivities } from '../activities';
import type { Db } from '../db/connect';
import { pruneWebhookHistory } from '../db/webhook-retention';
import { claimDeliveries, createEndpoint, fanOut, newEndpointId, recordAttempt } from '../db/webhooks';
import { DEFAULT_TASK_POLICY, placementEvent } from '../domain/task-order';
import { createSecretBox } from '../platform/secret-box';
import { generateWebhookSecret } from '../platform/webhook-signing';
import { withOwnedTestDatabase } from './support/db';
import { placement } from './support/fixtures';

/**
 * E5 retention (db/webhook-retention.ts, `npm run prune-webhooks`): finished deliveries older than
 * the cut-off go with their attempts, in batches; pending ones, recent ones and the feed stay; the
 * application's role cannot do it (attempts are append-only for it).
 */
let app: Db; // the application's role
let owner: Db; // the schema owner
withOwnedTestDatabase((world) => ({ app, owner } = world));

const count = async (table: 'webhook_deliveries' | 'webhook_attempts' | 'notifications') =>
  Number((await sql<{ n: string }>`select count(*)::text as n from ${sql.table(table)}`.execute(owner)).rows[0]!.n);

test('E5: finished deliveries older than the cut-off are deleted with their attempts, in batches; pending and recent ones and the feed stay; only the schema owner may', async () => {
  const endpointId = newEndpointId();
  await createEndpoint(app, { endpointId, url: 'https://example.com/hooks', description: null, eventTypes: null, secret: generateWebhookSecret() }, createSecretBox(undefined));
  const activities = createActivities({ db: app });
  for (let i = 0; i < 5; i += 1) {
    const p = placement();
    await activities.recordTaskEvents({ orderId: p.orderId, causation: 'test', events: [{ version: 1, occurredAt: Date.now(), event: placementEvent(p, DEFAULT_TASK_POLICY) }] });
  }
  expect(await fanOut(app, 500)).toBeGreaterThanOrEqual(5);
  const claims = await claimDeliveries(app, 100, 60_000);
  expect(claims.length).toBeGreaterThanOrEqual(5);
  const rules = { retryDelayMs: 1_000, retryWindowMs: 3 * 86_400_000 };
  // All delivered but one, which failed once and is pending.
  for (const [i, c] of claims.entries()) {
    const outcome = i === 0 ? ('http_error' as const) : ('delivered' as const);
    await recordAttempt(app, { endpointId, notificationId: c.id, leaseToken: c.lease_token, attemptNo: c.attempt_count, attemptedAt: new Date(), outcome, statusCode: outcome === 'delivered' ? 204 : 500, latencyMs: 3, responseSnippet: null, error: null }, rules);
  }
  const [pending, recent, ...old] = claims;
  await sql`update webhook_deliveries set updated_at = now() - interval '40 days' where notification_id <> ${recent!.id}`.execute(owner);
  const feedBefore = await count('notifications');

  // The application's role may not delete attempts.
  await expect(pruneWebhookHistory(app, 30)).rejects.toThrow(/permission denied/);

  // A run bounded to one batch of one stops early and says so; the next one takes the rest.
  expect(await pruneWebhookHistory(owner, 30, 1, 1)).toEqual({ deliveries: 1, attempts: 1, more: true });
  expect(await pruneWebhookHistory(owner, 30, 2)).toEqual({ deliveries: old.length - 1, attempts: old.length - 1, more: false });
  const left = await sql<{ notification_id: string; status: string }>`select notification_id::text, status from webhook_deliveries order by notification_id`.execute(owner);
  expect(left.rows.map((r) => [r.notification_id, r.status]).sort()).toEqual([[String(pending!.id), 'pending'], [String(recent!.id), 'delivered']].sort());
  expect(await count('webhook_attempts')).toBe(2);
  expect(await count('notifications')).toBe(feedBefore);
  // Nothing more to do.
  expect(await pruneWebhookHistory(owner, 30)).toEqual({ deliveries: 0, attempts: 0, more: false });
  await expect(pruneWebhookHistory(owner, 0)).rejects.toThrow(RangeError);
});
