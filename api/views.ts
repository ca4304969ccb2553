import type { TaskOrderRow } from '../db/schema';
import { fromStoredJson } from '../domain/json';
import { balanceDueFen, type TaskDeadline, type TaskOrderState } from '../domain/task-order';

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/** The task order as the API shows it (amounts in fen as JSON integers, instants in ISO 8601). */
export function taskOrderJson(row: TaskOrderRow) {
  const { state, deadlines } = fromStoredJson<{ state: TaskOrderState; deadlines: TaskDeadline[] }>(row.details);
  return {
    ...taskOrderSummaryJson(row),
    creatorId: row.creator_id,
    taskType: row.task_type,
    paymentMode: row.payment_mode,
    originalPriceFen: state.originalPriceFen,
    serviceFeeFen: row.service_fee_fen,
    depositFen: state.depositFen,
    paidInFen: paidInFen(state),
    escrowFen: row.paid_in_fen,
    balanceDueFen: state.status === 'awaiting_balance' ? balanceDueFen(state) : 0n,
    cancelReason: row.cancel_reason,
    acceptedAt: iso(state.acceptedAt),
    balancePaidAt: iso(state.balancePaidAt),
    uploads: state.uploads,
    latestUpload: state.latestUpload ?? null,
    publishedVideo: state.publishedVideo ?? null,
    publishOverdue: state.publishOverdue,
    pendingCancellation: state.pendingCancellation ?? null,
    settlement: state.settlement ?? null,
    nextDeadline: row.next_deadline_at ? { kind: row.next_deadline_kind, at: row.next_deadline_at.toISOString() } : null,
    deadlines: deadlines.map((d) => ({ kind: d.kind, at: new Date(d.atMs).toISOString(), consequence: d.consequence })),
    version: row.version,
    updatedAt: row.updated_at.toISOString(),
  };
}

/**
 * Everything the client paid into the order (L6). While it is open that is what its escrow holds;
 * once closed the escrow is 0 and the settlement says where all of it went (paid in = refunded +
 * creator payout + platform revenue), so the settlement's parts add up to it.
 */
function paidInFen(state: TaskOrderState): bigint {
  const s = state.settlement;
  if (!s) return state.paidInFen;
  return s.refundFen + s.creatorFen + s.serviceFeeFen + s.forfeitedFen;
}

/** A line of the task list: id, title, client, industry, amount, created at, expected publish time, status. */
export function taskOrderSummaryJson(row: TaskOrderRow) {
  return {
    orderId: row.order_id,
    title: row.title,
    clientId: row.client_id,
    industry: row.industry,
    priceFen: row.price_fen,
    createdAt: row.placed_at.toISOString(),
    expectedPublishAt: row.expected_publish_at.toISOString(),
    status: row.status,
  };
}
