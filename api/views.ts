import type { TaskOrderRow } from '../db/schema';

/** The task order as the API shows it (amounts in fen as JSON integers). */
export function taskOrderJson(row: TaskOrderRow) {
  return {
    orderId: row.order_id,
    clientId: row.client_id,
    creatorId: row.creator_id,
    taskType: row.task_type,
    title: row.title,
    industry: row.industry,
    expectedPublishAt: row.expected_publish_at.toISOString(),
    paymentMode: row.payment_mode,
    priceFen: row.price_fen,
    serviceFeeFen: row.service_fee_fen,
    paidInFen: row.paid_in_fen,
    status: row.status,
    cancelReason: row.cancel_reason,
    nextDeadline: row.next_deadline_at ? { kind: row.next_deadline_kind, at: row.next_deadline_at.toISOString() } : null,
    version: row.version,
    createdAt: row.placed_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
