import type { TaskOrderRow } from '../db/schema';
import { fromStoredJson } from '../domain/json';
import { balanceDueFen, type TaskDeadline, type TaskOrderState } from '../domain/task-order';

/**
 * The workflow state keeps instants as epoch milliseconds (changing its shape would break the
 * replay of recorded histories); SPEC §1 wants ISO 8601 strings named `…At` in every response, so
 * the conversion happens here, in the view.
 */
export const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
const isoOf = (ms: number) => new Date(ms).toISOString();

/** The task order as the API shows it (amounts in fen as JSON integers, instants in ISO 8601). */
export function taskOrderJson(row: TaskOrderRow) {
  const { state, deadlines } = fromStoredJson<{ state: TaskOrderState; deadlines: TaskDeadline[] }>(row.details);
  return {
    ...taskOrderSummaryJson(row),
    creatorId: row.creator_id,
    taskType: row.task_type,
    paymentMode: row.payment_mode,
    checkoutId: state.placement.funding.source === 'checkout' ? state.placement.funding.checkoutId : null,
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
    latestUpload: latestUploadJson(state),
    publishedVideo: state.publishedVideo ? { videoId: state.publishedVideo.videoId, publishedAt: isoOf(Date.parse(state.publishedVideo.publishedAt)) } : null,
    publishOverdue: state.publishOverdue,
    pendingCancellation: pendingCancellationJson(state),
    settlement: state.settlement ?? null,
    nextDeadline: row.next_deadline_at ? { kind: row.next_deadline_kind, at: row.next_deadline_at.toISOString() } : null,
    deadlines: deadlines.map((d) => ({ kind: d.kind, at: new Date(d.atMs).toISOString(), consequence: d.consequence })),
    version: row.version,
    updatedAt: row.updated_at.toISOString(),
  };
}

function latestUploadJson({ latestUpload: u }: TaskOrderState) {
  return u ? { uploadNo: u.uploadNo, draftId: u.draftId ?? null, videoUrl: u.videoUrl ?? null, uploadedAt: isoOf(u.uploadedAt) } : null;
}

function pendingCancellationJson({ pendingCancellation: p }: TaskOrderState) {
  if (!p) return null;
  return {
    by: { type: p.by.type, id: p.by.id },
    reason: p.reason ?? null,
    requestedAt: isoOf(p.requestedAt),
    answerDueAt: isoOf(p.answerDueAtMs),
    escalated: p.escalated,
    escalatedAt: iso(p.escalatedAt),
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

/** Event fields holding an instant whose name does not end in `AtMs` (renamed as the boost view names them). */
const INSTANT_RENAMES: Readonly<Record<string, string>> = { validUntilMs: 'validUntilAt' };

/**
 * An order event as the ops inspection shows it (O2): the recorded payload with SPEC §1 instants.
 * Events keep epoch milliseconds (`answerDueAtMs`, `reviewDueAtMs`, `dueAtMs` …; replayed
 * histories depend on them): each `…AtMs` becomes `…At` as an ISO string, as does a number
 * named `…At`. Durations (`…Ms` without `At`) and everything else stay as they are.
 */
export function eventPayloadJson<T extends object>(event: T): { type: string } & Record<string, unknown> {
  return isoInstants(event) as { type: string } & Record<string, unknown>;
}

function isoInstants(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(isoInstants);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const renamed = INSTANT_RENAMES[key] ?? (key.endsWith('AtMs') ? key.slice(0, -2) : undefined);
    if (renamed !== undefined && typeof v === 'number') out[renamed] = isoOf(v);
    else if (key.endsWith('At') && typeof v === 'number') out[key] = isoOf(v);
    else out[key] = isoInstants(v);
  }
  return out;
}
