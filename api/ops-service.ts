import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Db } from '../db/connect';
import { loadTaskEvents } from '../db/events';
import type { RecordedEvent } from '../domain/recorded-event';
import { BOOST_ORDER_WORKFLOW } from '../workflows/boost-order-api';
import { TASK_ORDER_WORKFLOW } from '../workflows/task-order-api';
import { CHECKOUT_WORKFLOW } from '../workflows/checkout-api';
import { BOOST_ORDER_KIND } from '../domain/boost/kind';
import { orderOfWorkflowId } from '../domain/kinds';
import type { OrderKind } from '../domain/order-kind';
import { TASK_ORDER_KIND } from '../domain/task-order/kind';
import { loadBoostEvents } from '../db/boost-orders';
import { loadCheckoutEvents } from '../db/checkouts';
import { CHECKOUT_KIND } from '../domain/checkout/kind';
import { disabledEndpoints } from '../db/webhooks';
import { orderLedger } from '../db/order-ledger';
import { openOrderIds, stuckBoostRows, stuckTaskRows, type StuckBoostRow, type StuckTaskRow } from '../db/ops-queries';
import { mapLimit } from '../platform/map-limit';
import { TtlCache } from '../platform/ttl-cache';
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
  readonly kind: OrderKind | 'webhook_endpoint';
  readonly status: string | null;
  readonly reason: StuckReason;
  readonly detail: string;
  readonly since: string | null;
  readonly attempt?: number;
  readonly lastFailure?: string;
}

const OVERDUE_GRACE_MS = 5 * 60_000;
/**
 * Issue 18: the list is complete up to these bounds, and says `truncated` when one is reached
 * (never a silent cut-off): open workflows described, and candidate rows read per source (in
 * keyset batches of READ_BATCH, so no query returns more than a batch).
 */
export const MAX_WORKFLOWS_DESCRIBED = 10_000;
export const MAX_STUCK_ROWS = 10_000;
const READ_BATCH = 1000;
const DESCRIBE_CONCURRENCY = 8;
/** A workflow's description is reused this long (the console refreshes every 10 s; ops act in minutes). */
const DESCRIBE_TTL_MS = 15_000;

/** Where a page of the stuck list starts: after this subject (entries are ordered by orderId, then kind). */
export interface StuckCursor {
  readonly orderId: string;
  readonly kind: StuckEntry['kind'];
}

export interface StuckList {
  readonly generatedAt: string;
  readonly entries: StuckEntry[];
  readonly workflowsDescribed: number;
  /** A bound (MAX_WORKFLOWS_DESCRIBED, MAX_STUCK_ROWS) was reached: there may be more than listed. */
  readonly truncated: boolean;
}

export interface StuckPage extends StuckList {
  /** Entries in the whole list (every page). */
  readonly total: number;
  readonly nextCursor: StuckCursor | null;
}

/** Rows read by keyset, READ_BATCH at a time, up to MAX_STUCK_ROWS; `truncated` if more were left. */
async function readByKeyset<R>(page: (after: string, limit: number) => Promise<R[]>, keyOf: (row: R) => string): Promise<{ rows: R[]; truncated: boolean }> {
  const rows: R[] = [];
  let after = '';
  for (;;) {
    const batch = await page(after, READ_BATCH);
    rows.push(...batch);
    const last = batch[batch.length - 1];
    if (batch.length < READ_BATCH || last === undefined) return { rows, truncated: false };
    if (rows.length >= MAX_STUCK_ROWS) return { rows, truncated: true };
    after = keyOf(last);
  }
}

const bySubject = (a: StuckEntry, b: StuckEntry) => a.orderId.localeCompare(b.orderId) || a.kind.localeCompare(b.kind) || a.reason.localeCompare(b.reason) || a.detail.localeCompare(b.detail);
const afterCursor = (e: StuckEntry, c: StuckCursor) => e.orderId.localeCompare(c.orderId) > 0 || (e.orderId === c.orderId && e.kind.localeCompare(c.kind) > 0);

/**
 * One page of `entries` (sorted bySubject) after `after`: at least `limit` entries unless the list
 * ends, and always every entry of the last subject (a few at most), so a cursor never splits one.
 */
export function pageOfStuck(entries: readonly StuckEntry[], after: StuckCursor | undefined, limit: number): { entries: StuckEntry[]; nextCursor: StuckCursor | null } {
  const start = after ? entries.findIndex((e) => afterCursor(e, after)) : 0;
  if (start < 0) return { entries: [], nextCursor: null };
  let end = Math.min(entries.length, start + limit);
  const last = entries[end - 1];
  while (last && end < entries.length && entries[end]?.orderId === last.orderId && entries[end]?.kind === last.kind) end += 1;
  const page = entries.slice(start, end);
  const tail = page[page.length - 1];
  return { entries: page, nextCursor: end < entries.length && tail ? { orderId: tail.orderId, kind: tail.kind } : null };
}

export interface OpsDeps {
  readonly db: Db;
  readonly client: Client;
  /** Now, in the same clock as the workflows' deadlines (the sandbox clock in the sandbox). */
  readonly nowMs: () => Promise<number>;
}

export function createOpsService({ db, client, nowMs }: OpsDeps) {
  /** Each open workflow's problems by workflow id and run (a new run is described afresh). */
  const described = new TtlCache<StuckEntry[]>(DESCRIBE_TTL_MS, 2 * MAX_WORKFLOWS_DESCRIBED);

  /** O1: the read model's deadlines and flags, joined with Temporal's own view of each open workflow. */
  async function stuck(): Promise<StuckList> {
    const now = await nowMs();
    const tasks = await fromReadModel(now);
    const boosts = await boostsFromReadModel(now);
    const entries = [...tasks.entries, ...boosts.entries, ...(await failingWebhookEndpoints())];
    const workflows = await openWorkflows();
    const problems = await mapLimit(workflows.runs, DESCRIBE_CONCURRENCY, (run) => described.get(`${run.workflowId}/${run.runId}`, () => describeProblems(run.workflowId)));
    for (const list of problems) entries.push(...list);
    entries.sort(bySubject);
    const truncated = tasks.truncated || boosts.truncated || workflows.truncated;
    return { generatedAt: new Date(now).toISOString(), entries, workflowsDescribed: workflows.runs.length, truncated };
  }

  /** O1, paged: the whole list is gathered (bounded, descriptions cached), then cut after `after`. */
  async function stuckPage(page: { after?: StuckCursor | undefined; limit: number }): Promise<StuckPage> {
    const list = await stuck();
    return { ...list, total: list.entries.length, ...pageOfStuck(list.entries, page.after, page.limit) };
  }

  async function fromReadModel(now: number): Promise<{ entries: StuckEntry[]; truncated: boolean }> {
    const { rows, truncated } = await readByKeyset((after, limit) => stuckTaskRows(db, { overdueBefore: new Date(now - OVERDUE_GRACE_MS), after, limit }), (row) => row.order_id);
    return { entries: rows.flatMap((row) => taskEntries(row, now)), truncated };
  }

  function taskEntries(row: StuckTaskRow, now: number): StuckEntry[] {
    const entries: StuckEntry[] = [];
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
    return entries;
  }

  /**
   * O1 for boost orders (entries carry the boost order's id, kind 'boost'): a refund past its due
   * time, a refund counted with a year missing from the business calendar, an evaluation waiting
   * for stats, and any other deadline overdue.
   */
  async function boostsFromReadModel(now: number): Promise<{ entries: StuckEntry[]; truncated: boolean }> {
    const { rows, truncated } = await readByKeyset((after, limit) => stuckBoostRows(db, { overdueBefore: new Date(now - OVERDUE_GRACE_MS), after, limit }), (row) => row.boost_order_id);
    return { entries: rows.flatMap((row) => boostEntries(row, now)), truncated };
  }

  function boostEntries(row: StuckBoostRow, now: number): StuckEntry[] {
    const overdueBefore = new Date(now - OVERDUE_GRACE_MS);
    const entries: StuckEntry[] = [];
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

  /**
   * Open order workflows (id and run): Temporal's visibility where it has one, else the read
   * model's open orders; at most MAX_WORKFLOWS_DESCRIBED, `truncated` if there were more.
   */
  async function openWorkflows(): Promise<{ runs: Array<{ workflowId: string; runId: string }>; truncated: boolean }> {
    try {
      const runs: Array<{ workflowId: string; runId: string }> = [];
      // C4: a checkout's workflow too: one stopped for ops (a line refused after its payment) or retrying belongs here.
      const query = `(WorkflowType = '${TASK_ORDER_WORKFLOW}' OR WorkflowType = '${BOOST_ORDER_WORKFLOW}' OR WorkflowType = '${CHECKOUT_WORKFLOW}') AND ExecutionStatus = 'Running'`;
      for await (const execution of client.workflow.list({ query })) {
        if (runs.length >= MAX_WORKFLOWS_DESCRIBED) return { runs, truncated: true };
        runs.push({ workflowId: execution.workflowId, runId: execution.runId });
      }
      return { runs, truncated: false };
    } catch (error) {
      if (unavailableDependency(error)) throw error; // 503: a stuck list without Temporal would miss orders
      return openWorkflowsOfReadModel(); // the time-skipping test server (sandbox) has no visibility store
    }
  }

  /** The read model's open orders as workflows (no run id: the cache then keys by workflow id alone). */
  async function openWorkflowsOfReadModel(): Promise<{ runs: Array<{ workflowId: string; runId: string }>; truncated: boolean }> {
    const cap = MAX_WORKFLOWS_DESCRIBED + 1;
    const { taskOrderIds, boostOrderIds, checkoutIds } = await openOrderIds(db, cap);
    const ids = [...taskOrderIds.map((id) => TASK_ORDER_KIND.workflowId(id)), ...boostOrderIds.map((id) => BOOST_ORDER_KIND.workflowId(id)), ...checkoutIds.map((id) => CHECKOUT_KIND.workflowId(id))];
    return { runs: ids.slice(0, MAX_WORKFLOWS_DESCRIBED).map((workflowId) => ({ workflowId, runId: '' })), truncated: ids.length > MAX_WORKFLOWS_DESCRIBED };
  }

  async function describeProblems(workflowId: string): Promise<StuckEntry[]> {
    const order = orderOfWorkflowId(workflowId);
    const kind: OrderKind = order?.kind ?? 'task';
    const orderId = order?.orderId ?? workflowId;
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
    return inspectOrder(orderId, TASK_ORDER_KIND, loadTaskEvents(db, orderId));
  }

  /** O2: everything about one boost order. */
  function inspectBoost(boostOrderId: string) {
    return inspectOrder(boostOrderId, BOOST_ORDER_KIND, loadBoostEvents(db, boostOrderId));
  }

  /** O2, C5: everything about one checkout (its own stream and payment; its orders have their own pages). */
  function inspectCheckout(checkoutId: string) {
    return inspectOrder(checkoutId, CHECKOUT_KIND, loadCheckoutEvents(db, checkoutId));
  }

  async function inspectOrder(orderId: string, kind: { workflowId: (id: string) => string; ledgerTxPrefix: string }, loadingEvents: Promise<ReadonlyArray<RecordedEvent<{ type: string }>>>) {
    const events = await loadingEvents;
    const workflowId = kind.workflowId(orderId);
    const { transactions, transfers } = await orderLedger(db, orderId, kind.ledgerTxPrefix);
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

  return { stuck, stuckPage, inspect, inspectBoost, inspectCheckout, describeCache: described };
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
