import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { mapLimit } from '../platform/map-limit';
import type { InvariantResult } from './invariants';

export interface QuiescenceOptions {
  readonly pool: pg.Pool;
  readonly client: Client;
  readonly taskQueue: string;
  /** Every deadline due by then must have fired (later ones — B4 months, B7 business days, far publish dates — are not waited for). */
  readonly horizonMs: number;
  readonly maxWaitMs: number;
  /** How long nothing may change (events, postings, notifications) before the run counts as quiet. */
  readonly stableMs?: number;
  readonly log: (message: string) => void;
  /** Stops waiting (the run was interrupted). */
  readonly signal?: AbortSignal;
}

interface DueDeadline {
  readonly kind: string;
  readonly id: string;
  readonly status: string;
  readonly deadline: string;
  readonly at: Date;
}

/**
 * Waits until the system is quiet: every deadline due by the horizon has fired, nothing was written
 * for `stableMs`, no workflow of the run has an activity pending (a retry after a fault), and no
 * webhook is still to be sent (E5: every active endpoint's fan-out has caught up with the feed and
 * none of its deliveries is pending).
 * Bounded by `maxWaitMs`; a run that does not settle is itself a finding (an order wedged, a timer
 * that never fires, an activity failing forever).
 */
export async function waitForQuiescence(options: QuiescenceOptions): Promise<InvariantResult & { waitedMs: number }> {
  const { pool, horizonMs, maxWaitMs, stableMs = 3000, log } = options;
  const name = 'quiescence';
  const started = Date.now();
  const deadline = started + maxWaitMs;
  let fingerprint = '';
  let stableSince = Date.now();
  let due: DueDeadline[] = [];
  let busy: string[] = [];
  let webhooks: WebhookBacklog = { unfanned: 0, pending: 0 };
  let lastLog = 0;
  while (Date.now() < deadline && !options.signal?.aborted) {
    try {
      due = await dueDeadlines(pool, horizonMs);
      const now = await currentFingerprint(pool);
      if (now !== fingerprint) {
        fingerprint = now;
        stableSince = Date.now();
      }
      webhooks = await webhookBacklog(pool);
      if (due.length === 0 && webhooks.unfanned + webhooks.pending === 0 && Date.now() - stableSince >= stableMs) {
        busy = await busyWorkflows(options.client, options.taskQueue);
        if (busy.length === 0 && (await currentFingerprint(pool)) === fingerprint) {
          const waitedMs = Date.now() - started;
          return { name, violations: [], counts: `quiet after ${(waitedMs / 1000).toFixed(1)} s`, waitedMs };
        }
      }
    } catch (error) {
      busy = [`cannot tell: ${error instanceof Error ? error.message : String(error)}`];
    }
    if (Date.now() - lastLog > 10_000) {
      lastLog = Date.now();
      log(`waiting for quiescence: ${due.length} deadlines due by the horizon not fired yet, ${busy.length} workflows with pending activities, webhooks ${webhooks.pending} pending + ${webhooks.unfanned} not fanned out`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  const waitedMs = Date.now() - started;
  const violations = [
    ...due.slice(0, 50).map((d) => ({
      invariant: name,
      orderId: d.id,
      message: `${d.kind} order (${d.status}): its ${d.deadline} deadline at ${d.at.toISOString()} has not fired ${((Date.now() - d.at.getTime()) / 1000).toFixed(0)} s later`,
    })),
    ...busy.slice(0, 50).map((b) => ({ invariant: name, message: `still busy after ${(maxWaitMs / 1000).toFixed(0)} s: ${b}` })),
    ...(webhooks.pending + webhooks.unfanned > 0
      ? [{ invariant: name, message: `after ${(maxWaitMs / 1000).toFixed(0)} s, ${webhooks.pending} webhook deliveries still pending and ${webhooks.unfanned} events not fanned out` }]
      : []),
  ];
  if (violations.length === 0) violations.push({ invariant: name, message: `writes did not stop within ${(maxWaitMs / 1000).toFixed(0)} s` });
  return { name, violations, counts: `not quiet after ${(waitedMs / 1000).toFixed(1)} s`, waitedMs };
}

async function dueDeadlines(pool: pg.Pool, horizonMs: number): Promise<DueDeadline[]> {
  const { rows } = await pool.query<DueDeadline>(
    `select 'task' as kind, order_id as id, status, next_deadline_kind as deadline, next_deadline_at as at
       from task_orders where next_deadline_at is not null and next_deadline_at <= $1
     union all
     select 'boost', boost_order_id, status, next_deadline_kind, next_deadline_at
       from boost_orders where next_deadline_at is not null and next_deadline_at <= $1
     order by at limit 200`,
    [new Date(horizonMs)],
  );
  return rows;
}

interface WebhookBacklog {
  /** Final feed rows after an active endpoint's fan-out position (db/webhooks.ts fanOut). */
  readonly unfanned: number;
  /** Deliveries of active endpoints not yet delivered (nor given up). */
  readonly pending: number;
}

async function webhookBacklog(pool: pg.Pool): Promise<WebhookBacklog> {
  const { rows } = await pool.query<WebhookBacklog>(
    `select (select count(*) from webhook_endpoints e join notifications n on (n.writer_xid, n.id) > (e.feed_xid, e.feed_id)
              where e.status = 'active')::int as unfanned,
            (select count(*) from webhook_deliveries d join webhook_endpoints e using (endpoint_id)
              where e.status = 'active' and d.status = 'pending')::int as pending`,
  );
  return rows[0] ?? { unfanned: 0, pending: 0 };
}

async function currentFingerprint(pool: pg.Pool): Promise<string> {
  const { rows } = await pool.query<{ f: string }>(
    `select concat_ws('/', (select coalesce(max(id), 0) from order_events), (select count(*) from ledger_transactions),
                           (select count(*) from notifications), (select count(*) from boost_orders),
                           (select count(*) from webhook_attempts)) as f`,
  );
  return rows[0]?.f ?? '';
}

/** Running workflows of the run with an activity pending: `workflowId: activity (attempt n): last failure`. */
async function busyWorkflows(client: Client, taskQueue: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const execution of client.workflow.list({ query: `TaskQueue="${taskQueue}" AND ExecutionStatus="Running"` })) {
    ids.push(execution.workflowId);
    if (ids.length >= 5000) break;
  }
  const described = await mapLimit(ids, 8, async (id) => {
    const description = await client.workflow.getHandle(id).describe();
    const pending = description.raw.pendingActivities ?? [];
    return pending.map((a) => `${id}: ${a.activityType?.name ?? 'activity'} (attempt ${a.attempt ?? '?'})${a.lastFailure?.message ? `: ${a.lastFailure.message}` : ''}`);
  });
  return described.flat();
}
