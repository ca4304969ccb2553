import type { TaskPolicy } from './policy';

export const TASK_TYPES = ['douyin_video', 'douyin_live', 'xigua_video', 'huoshan_video', 'toutiao_post'] as const;
export type TaskType = (typeof TASK_TYPES)[number];

export const PAYMENT_MODES = ['full', 'deposit'] as const;
export type PaymentMode = (typeof PAYMENT_MODES)[number];

/** L5: where a payment comes from. */
export type Funding = { readonly source: 'account' } | { readonly source: 'external'; readonly paymentRef: string };

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

export const CANCEL_REASONS = [
  'not_accepted_in_time', // T6
  'rejected_by_creator', // T7
  'cancelled_by_client_before_acceptance', // T11
  'balance_not_paid', // T13
] as const;
export type CancelReason = (typeof CANCEL_REASONS)[number];

export interface Actor {
  readonly type: 'client' | 'creator';
  readonly id: string;
}

/** Who did something and why (T23). */
export interface Attribution {
  readonly actor: Actor | { readonly type: 'system' } | { readonly type: 'ops'; readonly id: string };
  readonly reason?: string;
}

export interface TaskOrderState {
  readonly placement: TaskPlacement;
  readonly policy: TaskPolicy;
  readonly version: number;
  readonly status: TaskStatus;
  readonly placedAt: number; // epoch ms, workflow time
  readonly updatedAt: number; // epoch ms of the latest event
  readonly priceFen: bigint; // the current (final once locked) price
  readonly serviceFeeFen: bigint;
  readonly paidInFen: bigint; // everything the client has paid into escrow
  readonly acceptedAt?: number;
  readonly lastReminderAt?: number;
  readonly cancelReason?: CancelReason;
  readonly closedAt?: number;
}

export type TaskCommand =
  | { readonly type: 'accept'; readonly actor: Actor; readonly newPriceFen?: bigint }
  | { readonly type: 'reject'; readonly actor: Actor; readonly reason?: string }
  | { readonly type: 'remind'; readonly actor: Actor }
  | { readonly type: 'cancel'; readonly actor: Actor; readonly reason?: string }
  | { readonly type: 'acceptance_deadline' };

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
    };

/** An event as the workflow records it: the payload plus its place in the stream and its time. */
export interface RecordedTaskEvent {
  readonly version: number;
  readonly occurredAt: number; // epoch ms, workflow time
  readonly event: TaskEvent;
}
