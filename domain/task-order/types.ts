import type { RecordedEvent } from '../recorded-event';
import type { TaskPolicy } from './policy';

export const TASK_TYPES = ['douyin_video', 'douyin_live', 'xigua_video', 'huoshan_video', 'toutiao_post'] as const;
export type TaskType = (typeof TASK_TYPES)[number];

export const PAYMENT_MODES = ['full', 'deposit'] as const;
export type PaymentMode = (typeof PAYMENT_MODES)[number];

/**
 * L5: where a payment comes from. `checkout` is C4's: a line of a paid checkout is funded from
 * `escrow:checkout:{checkoutId}`; only the checkout's own workflow places with it (the API never
 * accepts it from a caller).
 */
export type Funding =
  | { readonly source: 'account' }
  | { readonly source: 'external'; readonly paymentRef: string }
  | { readonly source: 'checkout'; readonly checkoutId: string };

export interface Brief {
  readonly title: string;
  readonly industry: string;
  readonly expectedPublishAt: string; // ISO 8601 instant
}

/** T1: what the backend sends to place an order; identical content makes placement idempotent. */
export interface TaskPlacement {
  readonly orderId: string;
  readonly clientId: string;
  readonly creatorId: string;
  readonly taskType: TaskType;
  readonly priceFen: bigint;
  readonly brief: Brief;
  readonly paymentMode: PaymentMode;
  readonly funding: Funding;
}

/**
 * The order's main status (SPEC §2 "Task order states"). `cancellation_requested` is an overlay,
 * not a status: it is `TaskOrderState.pendingCancellation`, and the status underneath is kept.
 */
export const TASK_STATUSES = [
  'awaiting_acceptance',
  'awaiting_balance',
  'in_production',
  'in_review',
  'approved',
  'completed',
  'cancelled',
] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** The statuses in which an order is closed: nothing more happens to it (SPEC §2). The one definition. */
export const CLOSED_TASK_STATUSES: readonly TaskStatus[] = ['completed', 'cancelled'];
export const OPEN_TASK_STATUSES: readonly TaskStatus[] = TASK_STATUSES.filter((s) => !CLOSED_TASK_STATUSES.includes(s));

export function isClosedTaskStatus(status: TaskStatus): boolean {
  return CLOSED_TASK_STATUSES.includes(status);
}

export const CANCEL_REASONS = [
  'not_accepted_in_time', // T6
  'rejected_by_creator', // T7
  'cancelled_by_client_before_acceptance', // T11
  'balance_not_paid', // T13
  'cancelled_by_client_after_acceptance', // T20, confirmed by the creator
  'cancelled_by_creator', // T21, confirmed by the client
  'cancelled_by_ops', // O4: ops cancelled the order on their own (ops_cancel)
] as const;
export type CancelReason = (typeof CANCEL_REASONS)[number];

export interface Actor {
  readonly type: 'client' | 'creator';
  readonly id: string;
}

/** An operator of the platform (O4). */
export interface Operator {
  readonly type: 'ops';
  readonly id: string;
}

/** Who did something and why (T23). */
export interface Attribution {
  readonly actor: Actor | { readonly type: 'system' } | Operator;
  readonly reason?: string;
}

/** T20–T22: a cancellation request after acceptance, waiting for the counterparty (or ops). */
export interface PendingCancellation {
  readonly by: Actor; // the initiator: client (T20) or creator (T21)
  readonly reason?: string;
  readonly requestedAt: number; // epoch ms
  readonly answerDueAtMs: number; // T22: requestedAt + 72 h
  readonly escalated: boolean; // T22: no answer in time, waiting for ops arbitration (O4)
  readonly escalatedAt?: number;
}

/** T16: the latest draft the creator uploaded. */
export interface UploadedDraft {
  readonly uploadNo: number; // 1, 2, …
  readonly draftId?: string;
  readonly videoUrl?: string;
  readonly uploadedAt: number; // epoch ms
}

/** T18 */
export interface PublishedVideo {
  readonly videoId: string;
  readonly publishedAt: string; // ISO 8601 instant, as reported by the creator
}

/** Where the escrow went when the order closed (L6: the parts add up to everything paid in). */
export interface TaskSettlement {
  readonly refundFen: bigint;
  readonly creatorFen: bigint;
  readonly serviceFeeFen: bigint;
  readonly forfeitedFen: bigint;
}

export interface TaskOrderState {
  readonly placement: TaskPlacement;
  readonly policy: TaskPolicy;
  readonly version: number;
  readonly status: TaskStatus;
  readonly placedAt: number; // epoch ms, workflow time
  readonly updatedAt: number; // epoch ms of the latest event
  readonly priceFen: bigint; // the current (final once locked) price
  readonly serviceFeeFen: bigint; // percentOf(priceFen, serviceFeeBp)
  readonly paidInFen: bigint; // what the client's payments left in escrow now (0 once closed)
  readonly acceptedAt?: number;
  readonly lastReminderAt?: number;
  readonly cancelReason?: CancelReason;
  readonly closedAt?: number;
  // ── T9/T10: price ───────────────────────────────────────────────────────────────────────────
  readonly originalPriceFen: bigint; // the price at placement
  readonly depositFen: bigint; // T4: what a deposit-mode order paid at placement; 0 in full mode
  readonly priceChanged: boolean; // T9: the creator changed the price when accepting
  readonly priceRestored: boolean; // T10: the client restored the original price (once)
  // ── T12–T15: balance ───────────────────────────────────────────────────────────────────────
  readonly balancePaidAt?: number;
  readonly clientPaidFen: bigint; // everything the client ever paid in (L6), never decreases
  // ── T16–T19: production, review, publication ───────────────────────────────────────────────
  readonly uploads: number; // T16: number of uploads; ≥ 1 means "production started" (T20)
  readonly latestUpload?: UploadedDraft;
  readonly reviewDueAtMs?: number; // T17: set while in_review
  readonly approvedAt?: number;
  readonly autoApproved?: boolean; // T17: the latest approval came from the review deadline
  readonly publishedVideo?: PublishedVideo;
  readonly publishOverdue: boolean; // T19: flagged for ops (once)
  // ── T20–T23: cancellation after acceptance ─────────────────────────────────────────────────
  readonly pendingCancellation?: PendingCancellation;
  readonly settlement?: TaskSettlement; // set when the order closes (completed or cancelled)
}

/** A timer of the workflow: `{ type: `${kind}_deadline` }` for every deadline kind. */
/**
 * O4: ops cancel an order with one of the money outcomes of T6–T21: everything back to the client
 * (T6, T7, T11, T21, T20 before any upload), 50% compensation to the creator (T20 after an
 * upload), or the deposit forfeited (T13).
 */
export const OPS_CANCEL_OUTCOMES = ['full_refund', 'creator_compensation', 'deposit_forfeited'] as const;
export type OpsCancelOutcome = (typeof OPS_CANCEL_OUTCOMES)[number];

export const TASK_DEADLINE_KINDS = ['acceptance', 'balance', 'review', 'cancellation_answer', 'publish_overdue'] as const;
/**
 * The timers of a task order. When one's time comes the workflow runs the command
 * `{ type: `${kind}_deadline` }`, which is a no-op if the deadline no longer applies.
 */
export type TaskDeadlineKind = (typeof TASK_DEADLINE_KINDS)[number];

export type DeadlineCommand = { [K in TaskDeadlineKind]: { readonly type: `${K}_deadline` } }[TaskDeadlineKind];

export type TaskCommand =
  | { readonly type: 'accept'; readonly actor: Actor; readonly newPriceFen?: bigint }
  | { readonly type: 'reject'; readonly actor: Actor; readonly reason?: string }
  | { readonly type: 'remind'; readonly actor: Actor }
  | { readonly type: 'cancel'; readonly actor: Actor; readonly reason?: string }
  | { readonly type: 'restore_price'; readonly actor: Actor }
  | { readonly type: 'pay_balance'; readonly actor: Actor; readonly funding: Funding }
  | { readonly type: 'upload_video'; readonly actor: Actor; readonly draftId?: string; readonly videoUrl?: string }
  | { readonly type: 'review'; readonly actor: Actor; readonly decision: ReviewDecision; readonly comment?: string }
  // T18: `unboundedPublishedAt` skips the publishedAt bounds for workflows that published before
  // they were enforced (the workflow sets it under patched(); a caller never does).
  | { readonly type: 'publish'; readonly actor: Actor; readonly videoId: string; readonly publishedAt: string; readonly unboundedPublishedAt?: boolean }
  | { readonly type: 'cancel_response'; readonly actor: Actor; readonly accept: boolean; readonly reason?: string }
  // O4: `opsReasonOnConfirm` records a confirmed request as cancelled_by_ops, as before the reason
  // kept who asked; the workflow sets it under patched() for its old runs, a caller never does.
  | { readonly type: 'arbitrate'; readonly operator: string; readonly decision: ArbitrationDecision; readonly reason: string; readonly opsReasonOnConfirm?: boolean }
  | { readonly type: 'ops_cancel'; readonly operator: string; readonly outcome: OpsCancelOutcome; readonly reason: string }
  | DeadlineCommand;

export const REVIEW_DECISIONS = ['approve', 'request_changes'] as const;
export type ReviewDecision = (typeof REVIEW_DECISIONS)[number];

export const ARBITRATION_DECISIONS = ['confirm', 'decline'] as const;
export type ArbitrationDecision = (typeof ARBITRATION_DECISIONS)[number];

export type TaskEvent =
  | { readonly type: 'TaskOrderPlaced'; readonly placement: TaskPlacement; readonly policy: TaskPolicy; readonly serviceFeeFen: bigint; readonly paidFen: bigint }
  | { readonly type: 'TaskOrderAccepted'; readonly by: Actor; readonly priceFen: bigint; readonly serviceFeeFen: bigint; readonly previousPriceFen: bigint }
  | { readonly type: 'CreatorReminded'; readonly by: Actor }
  | {
      readonly type: 'TaskOrderCancelled';
      readonly reason: CancelReason;
      readonly by: Attribution['actor'];
      readonly note?: string;
      readonly refundFen: bigint;
      readonly creatorFen: bigint;
      readonly serviceFeeFen: bigint;
      readonly forfeitedFen: bigint;
    }
  // T10: the price goes back to the original one.
  | { readonly type: 'PriceRestored'; readonly by: Actor; readonly priceFen: bigint; readonly serviceFeeFen: bigint; readonly previousPriceFen: bigint }
  // T12, T15: the balance enters escrow; the order is in production.
  | { readonly type: 'BalancePaid'; readonly by: Actor; readonly amountFen: bigint; readonly funding: Funding }
  // T16: a draft for the client to review until reviewDueAtMs (T17).
  | {
      readonly type: 'VideoUploaded';
      readonly by: Actor;
      readonly uploadNo: number;
      readonly draftId?: string;
      readonly videoUrl?: string;
      readonly reviewDueAtMs: number;
    }
  // T17: the client's decision on the upload under review.
  | { readonly type: 'VideoReviewed'; readonly by: Actor; readonly uploadNo: number; readonly decision: ReviewDecision; readonly comment?: string }
  // T17: nobody reviewed within the review time: approved automatically.
  | { readonly type: 'VideoAutoApproved'; readonly uploadNo: number }
  // T18: publication, always followed by TaskOrderCompleted.
  | { readonly type: 'VideoPublished'; readonly by: Actor; readonly videoId: string; readonly publishedAt: string }
  // T18: settlement: the final price to the creator, the service fee to the platform.
  | { readonly type: 'TaskOrderCompleted'; readonly creatorFen: bigint; readonly serviceFeeFen: bigint }
  // T19: expected publish time passed without publication (flag for ops, nothing cancelled).
  | { readonly type: 'PublishOverdueFlagged'; readonly expectedPublishAt: string }
  // T20/T21: a party asks to cancel after acceptance; the counterparty must answer by answerDueAtMs.
  | { readonly type: 'CancellationRequested'; readonly by: Actor; readonly reason?: string; readonly answerDueAtMs: number }
  // T22: the counterparty confirms (a TaskOrderCancelled follows) …
  | { readonly type: 'CancellationConfirmed'; readonly by: Actor; readonly reason?: string }
  // … or declines: the order continues where it was.
  | { readonly type: 'CancellationDeclined'; readonly by: Actor; readonly reason?: string }
  // T22: no answer in time: the request waits for ops arbitration (O4).
  | { readonly type: 'CancellationEscalated'; readonly requestedBy: Actor }
  // O4: ops decide an escalated request; a confirm is followed by TaskOrderCancelled with the
  // requester's reason (T20/T21), `by` the operator.
  | { readonly type: 'CancellationArbitrated'; readonly by: Operator; readonly decision: ArbitrationDecision; readonly reason: string; readonly requestedBy: Actor };

export type TaskEventType = TaskEvent['type'];

/** An event as the workflow records it: the payload plus its place in the stream and its time. */
export type RecordedTaskEvent = RecordedEvent<TaskEvent>;
