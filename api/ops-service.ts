import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { sql } from 'kysely';
import type { Db } from '../db/connect';
import { loadTaskEvents } from '../db/events';
import { OPEN_TASK_STATUSES } from '../domain/task-order/types';
import { BOOST_ORDER_WORKFLOW, boostOrderWorkflowId } from '../workflows/boost-order-api';
import { taskOrderWorkflowId } from '../workflows/task-order-api';
import { loadBoostEvents } from '../db/boost-orders';
import { disabledEndpoints } from '../db/webhooks';
import { mapLimit } from '../platform/map-limit';
import { unavailableDependency } from '../platform/faults';

/** O1: why an order is on the stuck list (the one list: the document and the metrics use it). */
export const STUCK_REASONS = [
  'deadline_overdue', // a deadline more than 5 minutes past on an open order: worker down or workflow blocked
  'activity_retrying', // an activity on its 3rd or later attempt
  'workflow_task_failing', // the workflow's code fails (e.g. stopped for ops on an idempotency conflict, L3)
  'awaiting_arbitration', // T22: no answer to a cancellation request in 72 h
  'publish_overdue', // T19
  'refund_overdue', // B7: a boost refund past its due time (by more than 5 minutes) and not posted
  'calendar_missing', // B7: a boost refund counted through a year without calendar data (weekends only)
  'awaiting_stats', // B6/B8: a boost's evaluation waits for a view count of its video
  'webhook_failing', // E5: a webhook endpoint failing for 3 days was disabled (orderId is the endpoint's id)
] as const;
export type StuckReason = (typeof STUCK_REASONS)[number];

export interface StuckEntry {
  readonly orderId: string;
  readonly kind: 'task' | 'boost' | 'webhook_endpoint';
  readonly status: string | null;
  readonly reason: StuckReason;
  readonly detail: string;
  readonly since: string | null;
  readonly attempt?: number;
  readonly lastFailure?: string;
}

const OVERDUE_GRACE_MS = 5 * 60_000;
const MAX_WORKFLOWS_DESCRIBED = 500;
const DESCRIBE_CONCURRENCY = 8;
const WORKFLOW_PREFIX = 'task-order:';
const BOOST_WORKFLOW_PREFIX = 'boost-order:';

export interface OpsDeps {
  readonly db: Db;
  readonly client: Client;
  /** Now, in the same clock as the workflows' deadlines (the sandbox clock in the sandbox). */
  readonly nowMs: () => Promise<number>;
}

export function createOpsService({ db, client, nowMs }: OpsDeps) {
  /** O1: the read model's deadlines and flags, joined with Temporal's own view of each open workflow. */
  async function stuck(): Promise<{ generatedAt: string; entries: StuckEntry[]; workflowsDescribed: number }> {
    const now = await nowMs();
    const entries = [...(await fromReadModel(now)), ...(await boostsFromReadModel(now)), ...(await failingWebhookEndpoints())];
    const workflowIds = await openWorkflowIds();
    const described = await mapLimit(workflowIds, DESCRIBE_CONCURRENCY, (id) => describeProblems(id));
    for (const problems of described) entries.push(...problems);
    entries.sort((a, b) => a.orderId.localeCompare(b.orderId) || a.reason.localeCompare(b.reason));
    return { generatedAt: new Date(now).toISOString(), entries, workflowsDescribed: workflowIds.length };
  }

  async function fromReadModel(now: number): Promise<StuckEntry[]> {
    // The open orders first (MATERIALIZED, so PostgreSQL reads them by the status index instead of
    // walking the whole primary key for the ORDER BY … LIMIT and filtering every closed order).
    const rows = await db
      .with(
        (cte) => cte('open_task_orders').materialized(),
        (qb) =>
          qb
            .selectFrom('task_orders')
            .select(['order_id', 'status', 'next_deadline_kind', 'next_deadline_at', 'updated_at'])
            .select([
              sql<boolean>`coalesce((details -> 'state' -> 'pendingCancellation' ->> 'escalated')::boolean, false)`.as('escalated'),
              sql<string | null>`details -> 'state' -> 'pendingCancellation' ->> 'escalatedAt'`.as('escalated_at'),
              sql<boolean>`coalesce((details -> 'state' ->> 'publishOverdue')::boolean, false)`.as('publish_overdue'),
              sql<string>`details -> 'state' -> 'placement' -> 'brief' ->> 'expectedPublishAt'`.as('expected_publish_at'),
            ])
            .where('status', 'in', [...OPEN_TASK_STATUSES]),
      )
      .selectFrom('open_task_orders')
      .selectAll()
      .where((eb) => eb.or([eb('next_deadline_at', '<', new Date(now - OVERDUE_GRACE_MS)), eb('escalated', '=', true), eb('publish_overdue', '=', true)]))
      .orderBy('order_id')
      .limit(1000)
      .execute();
    const entries: StuckEntry[] = [];
    for (const row of rows) {
      const base = { orderId: row.order_id, kind: 'task' as const, status: row.status };
      if (row.next_deadline_at && row.next_deadline_at.getTime() < now - OVERDUE_GRACE_MS) {
        const lateMin = Math.floor((now - row.next_deadline_at.getTime()) / 60_000);
        entries.push({ ...base, reason: 'deadline_overdue', detail: `the ${row.next_deadline_kind} deadline is ${lateMin} min overdue: is a worker running?`, since: row.next_deadline_at.toISOString() });
      }
      if (row.escalated) {
        const since = row.escalated_at === null ? null : new Date(Number(row.escalated_at)).toISOString();
        entries.push({ ...base, reason: 'awaiting_arbitration', detail: 'a cancellation request got no answer in 72 h: decide it (POST /v1/ops/orders/{orderId}/actions)', since });
      }
      if (row.publish_overdue) {
        entries.push({ ...base, reason: 'publish_overdue', detail: 'the brief\'s expected publish time passed without publication (T19)', since: row.expected_publish_at });
      }
    }
    return entries;
  }

  /**
   * O1 for boost orders (entries carry the boost order's id, kind 'boost'): a refund past its due
   * time, a refund counted with a year missing from the business calendar, an evaluation waiting
   * for stats, and any other deadline overdue.
   */
  async function boostsFromReadModel(now: number): Promise<StuckEntry[]> {
    const overdueBefore = new Date(now - OVERDUE_GRACE_MS);
    const rows = await db
      .selectFrom('boost_orders')
      .leftJoin('video_stats', 'video_stats.video_id', 'boost_orders.video_id')
      .select([
        'boost_orders.boost_order_id',
        'boost_orders.status',
        'boost_orders.video_id',
        'boost_orders.next_deadline_kind',
        'boost_orders.next_deadline_at',
        'boost_orders.refund_fen',
        'boost_orders.refund_due_at',
        'boost_orders.calendar_missing',
        'boost_orders.updated_at',
        'video_stats.views',
        sql<string[] | null>`boost_orders.details -> 'state' -> 'refund' -> 'calendarMissingYears'`.as('missing_years'),
      ])
      .where('boost_orders.status', '<>', 'closed')
      .where((eb) =>
        eb.or([
          eb('boost_orders.next_deadline_at', '<', overdueBefore),
          eb('boost_orders.calendar_missing', '=', true),
          eb('boost_orders.status', '=', 'evaluating'),
        ]),
      )
      .orderBy('boost_orders.boost_order_id')
      .limit(1000)
      .execute();
    const entries: StuckEntry[] = [];
    for (const row of rows) {
      const base = { orderId: row.boost_order_id, kind: 'boost' as const, status: row.status };
      const due = row.next_deadline_at;
      if (due && due < overdueBefore) {
        const lateMin = Math.floor((now - due.getTime()) / 60_000);
        if (row.next_deadline_kind === 'refund') {
          entries.push({ ...base, reason: 'refund_overdue', detail: `the refund of ${row.refund_fen ?? 0n} fen was due ${lateMin} min ago and is not posted: is a worker running?`, since: due.toISOString() });
        } else {
          entries.push({ ...base, reason: 'deadline_overdue', detail: `the ${row.next_deadline_kind} deadline is ${lateMin} min overdue: is a worker running?`, since: due.toISOString() });
        }
      }
      if (row.calendar_missing) {
        const years = (row.missing_years ?? []).join(', ');
        entries.push({
          ...base,
          reason: 'calendar_missing',
          detail: `the refund's due date was counted with weekends only for ${years || 'a year'} (no business calendar data): check it, add the year to business_calendar_days, or release the refund (F5)`,
          since: row.updated_at.toISOString(),
        });
      }
      if (row.status === 'evaluating') {
        entries.push({
          ...base,
          reason: 'awaiting_stats',
          detail:
            row.views === null
              ? `the evaluation waits for a view count of video ${row.video_id ?? '?'} (B8): the analytics feed has not posted one`
              : `video ${row.video_id ?? '?'} has a count (${row.views}) but the evaluation has not run yet: it re-reads the count on a timer (every 5 minutes in its first 6 hours of waiting, then hourly); post the count again (POST /v1/video-stats) to wake it now`,
          since: row.updated_at.toISOString(),
        });
      }
    }
    return entries;
  }

  /** E5: endpoints disabled after failing for 3 days (a redelivery enables one again). */
  async function failingWebhookEndpoints(): Promise<StuckEntry[]> {
    return (await disabledEndpoints(db)).map((row) => ({
      orderId: row.endpoint_id,
      kind: 'webhook_endpoint' as const,
      status: 'disabled',
      reason: 'webhook_failing' as const,
      detail: `webhook endpoint ${row.url} failed for 3 days and was disabled: fix the receiver, then redeliver (POST /v1/webhook-endpoints/{id}/redeliver)`,
      since: row.failing_since?.toISOString() ?? row.disabled_at?.toISOString() ?? null,
    }));
  }

  /** Open task-order workflows: Temporal's visibility where it has one, else the read model's open orders. */
  async function openWorkflowIds(): Promise<string[]> {
    try {
      const ids: string[] = [];
      const query = `(WorkflowType = 'taskOrderWorkflow' OR WorkflowType = '${BOOST_ORDER_WORKFLOW}') AND ExecutionStatus = 'Running'`;
      for await (const execution of client.workflow.list({ query })) {
        ids.push(execution.workflowId);
        if (ids.length >= MAX_WORKFLOWS_DESCRIBED) break;
      }
      return ids;
    } catch (error) {
      if (unavailableDependency(error)) throw error; // 503: a stuck list without Temporal would miss orders
      // The time-skipping test server (sandbox) has no visibility store.
      const rows = await db.selectFrom('task_orders').select('order_id').where('status', 'in', [...OPEN_TASK_STATUSES]).orderBy('order_id').limit(MAX_WORKFLOWS_DESCRIBED).execute();
      const boosts = await db.selectFrom('boost_orders').select('boost_order_id').where('status', '<>', 'closed').orderBy('boost_order_id').limit(MAX_WORKFLOWS_DESCRIBED).execute();
      return [...rows.map((r) => taskOrderWorkflowId(r.order_id)), ...boosts.map((r) => boostOrderWorkflowId(r.boost_order_id))].slice(0, MAX_WORKFLOWS_DESCRIBED);
    }
  }

  async function describeProblems(workflowId: string): Promise<StuckEntry[]> {
    const kind = workflowId.startsWith(BOOST_WORKFLOW_PREFIX) ? ('boost' as const) : ('task' as const);
    const prefix = kind === 'boost' ? BOOST_WORKFLOW_PREFIX : WORKFLOW_PREFIX;
    const orderId = workflowId.startsWith(prefix) ? workflowId.slice(prefix.length) : workflowId;
    const description = await client.workflow
      .getHandle(workflowId)
      .describe()
      .catch((error: unknown) => {
        if (unavailableDependency(error)) throw error;
        return undefined; // gone (closed and past retention) meanwhile: nothing stuck there
      });
    if (!description) return [];
    const status = description.typedSearchAttributes.get({ name: 'OrderStatus', type: 'KEYWORD' }) ?? null;
    const entries: StuckEntry[] = [];
    for (const activity of description.raw.pendingActivities ?? []) {
      const attempt = activity.attempt ?? 1;
      if (attempt < 3) continue;
      const lastFailure = activity.lastFailure?.message ?? 'unknown';
      entries.push({
        orderId, kind, status, reason: 'activity_retrying', attempt, lastFailure,
        detail: `${activity.activityType?.name ?? 'activity'} is on attempt ${attempt}: ${lastFailure}`,
        since: timestampIso(activity.lastStartedTime ?? activity.scheduledTime),
      });
    }
    const task = description.raw.pendingWorkflowTask;
    if (task && (task.attempt ?? 1) >= 2) {
      entries.push({
        orderId, kind, status, reason: 'workflow_task_failing', attempt: task.attempt ?? undefined,
        detail: `the workflow task has failed ${(task.attempt ?? 1) - 1} time(s); see the workflow's history in the Temporal UI`,
        since: timestampIso(task.originalScheduledTime ?? task.scheduledTime),
      });
    }
    return entries;
  }

  /** O2: everything about one task order. */
  function inspect(orderId: string) {
    return inspectOrder(orderId, taskOrderWorkflowId(orderId), loadTaskEvents(db, orderId));
  }

  /** O2: everything about one boost order. */
  function inspectBoost(boostOrderId: string) {
    return inspectOrder(boostOrderId, boostOrderWorkflowId(boostOrderId), loadBoostEvents(db, boostOrderId));
  }

  async function inspectOrder(orderId: string, workflowId: string, loadingEvents: Promise<ReadonlyArray<{ version: number; occurredAt: number; event: { type: string } }>>) {
    const events = await loadingEvents;
    const transactions = await db
      .selectFrom('ledger_transactions')
      .select(['tx_id', 'seq', 'kind', 'occurred_at', 'external_payment_ref', 'chain_hash'])
      .where('order_id', '=', orderId)
      .orderBy('seq')
      .execute();
    const transfers = transactions.length
      ? await db.selectFrom('ledger_transfers').selectAll().where('tx_id', 'in', transactions.map((t) => t.tx_id)).orderBy('tx_id').orderBy('transfer_index').execute()
      : [];
    // SPEC §1 names: Temporal's startTime/closeTime/scheduledTime are shown as …At (api/ops-routes.ts documents them).
    let temporal: TemporalDescriptionJson | null = null;
    try {
      const d = await client.workflow.getHandle(workflowId).describe();
      temporal = {
        workflowId: d.workflowId,
        runId: d.runId,
        status: d.status.name,
        historyLength: d.historyLength,
        startedAt: d.startTime.toISOString(),
        closedAt: d.closeTime?.toISOString() ?? null,
        pendingActivities: (d.raw.pendingActivities ?? []).map((a) => ({
          activityType: a.activityType?.name ?? null,
          attempt: a.attempt ?? 1,
          lastFailure: a.lastFailure?.message ?? null,
          scheduledAt: timestampIso(a.scheduledTime),
          lastStartedAt: timestampIso(a.lastStartedTime),
        })),
        pendingWorkflowTask: d.raw.pendingWorkflowTask ? { attempt: d.raw.pendingWorkflowTask.attempt ?? 1, scheduledAt: timestampIso(d.raw.pendingWorkflowTask.scheduledTime) } : null,
      };
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
    return {
      events: events.map((e) => ({ version: e.version, type: e.event.type, occurredAt: new Date(e.occurredAt).toISOString(), payload: e.event })),
      ledger: transactions.map((t) => ({
        txId: t.tx_id,
        seq: t.seq,
        kind: t.kind,
        occurredAt: t.occurred_at.toISOString(),
        externalPaymentRef: t.external_payment_ref,
        chainHash: t.chain_hash,
        transfers: transfers.filter((f) => f.tx_id === t.tx_id).map((f) => ({ debitAccount: f.debit_account, creditAccount: f.credit_account, amountFen: f.amount_fen })),
      })),
      temporal,
    };
  }

  return { stuck, inspect, inspectBoost };
}

export type OpsService = ReturnType<typeof createOpsService>;

/** O2: the parts of Temporal's workflow description the inspection shows. */
export interface TemporalDescriptionJson {
  readonly workflowId: string;
  readonly runId: string;
  readonly status: string;
  readonly historyLength: number;
  readonly startedAt: string;
  readonly closedAt: string | null;
  readonly pendingActivities: ReadonlyArray<{ activityType: string | null; attempt: number; lastFailure: string | null; scheduledAt: string | null; lastStartedAt: string | null }>;
  readonly pendingWorkflowTask: { attempt: number; scheduledAt: string | null } | null;
}

function timestampIso(ts: { seconds?: unknown; nanos?: number | null } | null | undefined): string | null {
  if (!ts || ts.seconds === undefined || ts.seconds === null) return null;
  const seconds = Number(ts.seconds.toString());
  return new Date(seconds * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)).toISOString();
}
