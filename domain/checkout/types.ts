import type { RecordedEvent } from '../recorded-event';
import type { Rejection } from '../errors';
import type { Brief, PaymentMode, TaskType } from '../task-order/types';

/** C1: at most this many lines in one checkout. */
export const MAX_CHECKOUT_LINES = 50;

export const CHECKOUT_STATUSES = ['placing', 'completed', 'failed'] as const;
export type CheckoutStatus = (typeof CHECKOUT_STATUSES)[number];

/** The statuses in which a checkout is closed (C3): every line placed, or none and nothing paid. The one definition. */
export const CLOSED_CHECKOUT_STATUSES: readonly CheckoutStatus[] = ['completed', 'failed'];

/** C1/L5: a checkout is paid once, from the client's account or by one external payment. */
export type CheckoutFunding = { readonly source: 'account' } | { readonly source: 'external'; readonly paymentRef: string };

/** C1: one line as the backend sends it: a task order as T1, and optionally its boost (B3). */
export interface CheckoutLineRequest {
  readonly orderId: string;
  readonly creatorId: string;
  readonly taskType: TaskType;
  readonly priceFen: bigint;
  readonly brief: Brief;
  readonly boost?: { readonly boostOrderId: string; readonly quoteId: string };
}

/** C1: the whole request; the same content under the same checkoutId is the same checkout (C4). */
export interface CheckoutRequest {
  readonly checkoutId: string;
  readonly clientId: string;
  readonly paymentMode: PaymentMode;
  readonly funding: CheckoutFunding;
  readonly lines: readonly CheckoutLineRequest[];
}

/** C2: what one line costs: its placement (T3/T4) and its boost fee (B1), fixed at payment. */
export interface PricedLine extends CheckoutLineRequest {
  readonly serviceFeeFen: bigint;
  /** What the task order's placement takes from the checkout's escrow (T3: price + fee; T4: the fee). */
  readonly placementFen: bigint;
  readonly boostTerms?: {
    readonly boostOrderId: string;
    readonly quoteId: string;
    readonly boostFeeFen: bigint;
    readonly expectedViews: number;
    readonly premiumBp: bigint;
  };
  readonly lineTotalFen: bigint;
}

/** C2: the priced checkout: its lines and total. */
export interface CheckoutTerms {
  readonly checkoutId: string;
  readonly clientId: string;
  readonly paymentMode: PaymentMode;
  readonly funding: CheckoutFunding;
  readonly lines: readonly PricedLine[];
  readonly totalFen: bigint;
}

/** C3: the first line that failed and why (lineIndex is absent for a refusal of the whole checkout, e.g. its payment). */
export interface CheckoutFailure {
  readonly lineIndex?: number;
  readonly rejection: Rejection;
}

export type CheckoutEvent =
  | { readonly type: 'CheckoutPaid'; readonly terms: CheckoutTerms }
  | { readonly type: 'CheckoutRefused'; readonly request: CheckoutRequest; readonly failure: CheckoutFailure }
  | { readonly type: 'CheckoutTaskPlaced'; readonly lineIndex: number; readonly orderId: string }
  | { readonly type: 'CheckoutBoostPlaced'; readonly lineIndex: number; readonly boostOrderId: string }
  | { readonly type: 'CheckoutCompleted' };

export type RecordedCheckoutEvent = RecordedEvent<CheckoutEvent>;

export interface CheckoutLineState {
  readonly line: PricedLine;
  readonly taskPlaced: boolean;
  readonly boostPlaced: boolean;
}

export interface CheckoutState {
  readonly checkoutId: string;
  readonly clientId: string;
  readonly status: CheckoutStatus;
  readonly paymentMode: PaymentMode;
  readonly funding: CheckoutFunding;
  readonly totalFen: bigint;
  /** What `escrow:checkout:{id}` holds: the total once paid, less every placement and boost fee funded from it (C4). */
  readonly escrowFen: bigint;
  readonly lines: readonly CheckoutLineState[];
  readonly failure?: CheckoutFailure;
  /** The request as sent (kept for a refused checkout, whose lines were never priced). */
  readonly requestLines: readonly CheckoutLineRequest[];
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly completedAt?: number;
  readonly version: number;
}

export type CheckoutCommand =
  | { readonly type: 'task_placed'; readonly lineIndex: number }
  | { readonly type: 'boost_placed'; readonly lineIndex: number }
  | { readonly type: 'complete' };
