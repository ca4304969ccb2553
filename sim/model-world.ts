/**
 * The reference model's state (SPEC §10 "checks every order against a reference model"): what a
 * lifecycle's orders, accounts, quotes and video counts would be after its exchanges, written
 * from SPEC.md apart from `domain/`. A `World` is one possible state; when commands were
 * concurrent, or an answer was lost, or a command raced a deadline, the model keeps every world
 * consistent with the answers.
 */
import { serviceFee } from './model-money';

/** An interval of instants (epoch ms, both ends included). */
export interface Win {
  readonly lo: number;
  readonly hi: number;
}

export type Side = 'client' | 'creator';

export const TASK_STATUSES = ['awaiting_acceptance', 'awaiting_balance', 'in_production', 'in_review', 'approved', 'completed', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** Where a closed order's escrow went (L6: the parts add up to everything paid in). */
export interface Settlement {
  refundFen: bigint;
  creatorFen: bigint;
  serviceFeeFen: bigint;
  forfeitedFen: bigint;
}

export interface TaskM {
  id: string;
  clientId: string;
  creatorId: string;
  taskType: string;
  mode: 'full' | 'deposit';
  /** T1: the placement's content, canonical JSON (the same orderId with another content is a conflict). */
  fp: string;
  originalPriceFen: bigint;
  priceFen: bigint; // the current, and once locked the final, price (T9, T10)
  depositFen: bigint; // T4: what a deposit-mode placement paid; 0 in full mode
  status: TaskStatus;
  cancelReason?: string;
  escrowFen: bigint; // what escrow:task:{id} holds
  paidInFen: bigint; // everything the client ever paid into the order (L6)
  priceChanged: boolean;
  priceRestored: boolean;
  balancePaid: boolean;
  uploads: number;
  autoApproved: boolean;
  acceptedAt?: Win;
  lastRemindAt?: Win;
  pending?: { by: Side; escalated: boolean };
  published?: { videoId: string; publishedAtMs: number };
  settlement?: Settlement;
  boostId?: string;
  /** C1: the checkout that placed it (its id is that checkout's: never placed again by anyone else). */
  checkoutId?: string;
}

export const BOOST_STATUSES = ['awaiting_publication', 'boosting', 'evaluating', 'refund_scheduled', 'closed'] as const;
export type BoostStatus = (typeof BOOST_STATUSES)[number];

export interface BoostM {
  id: string;
  taskOrderId: string;
  clientId: string;
  creatorId: string;
  fp: string;
  priceFen: bigint;
  feeFen: bigint;
  expectedViews: number;
  status: BoostStatus;
  endReason?: 'evaluated' | 'expired' | 'task_cancelled';
  escrowFen: bigint;
  platformFen: bigint; // B6: what the platform kept
  refundFen?: bigint; // B6/B4: the refund scheduled
  refundPosted: boolean;
  evaluation?: { actualViews: number; succeeded: boolean; compensationFen: bigint };
  /** B6: the count the evaluation read, until its outcome is recorded. */
  evalViews?: number;
  video?: { videoId: string; publishedAtMs: number };
  /** C1: the checkout that ordered it. */
  checkoutId?: string;
}

/**
 * C1–C5: a checkout as the model keeps it; its lines' orders carry its id (TaskM/BoostM.checkoutId).
 * Paid and placed at one instant of its request (the product places the lines after the payment,
 * but no line's order exists before its ids are claimed, so nobody can tell the two apart), or
 * refused and stored with its first failing line.
 */
export interface CheckoutM {
  id: string;
  clientId: string;
  fp: string;
  status: 'completed' | 'failed';
  totalFen: bigint;
  failure?: { code: string; lineIndex: number | null };
}

export interface QuoteM {
  quoteId: string;
  clientId?: string;
  creatorId: string;
  priceFen: bigint;
  available: boolean;
  expectedViews: number;
  feeFen: bigint;
}

export interface VideoM {
  creatorId: string;
  publishedAtMs: number;
  views: number;
}

export type TimerKind =
  | 'acceptance' // T6
  | 'balance' // T13
  | 'review' // T17
  | 'answer' // T22
  | 'boost_published' // T18 → B5: the task workflow tells the boost (a signal, shortly after)
  | 'boost_task_cancelled' // B4: the task was cancelled
  | 'boost_period' // B6: the boost period is over
  | 'boost_eval' // B6/B8: the evaluation reads the latest count (now, or when one arrives)
  | 'boost_eval_record'; // B6: … and records its outcome with that count, shortly after

/** Something that will happen on its own: due within [lo, hi], fired by hi + the timer lag. */
export interface Timer {
  kind: TimerKind;
  id: string;
  lo: number;
  hi: number;
}

export interface World {
  tasks: Record<string, TaskM>;
  boosts: Record<string, BoostM>;
  checkouts: Record<string, CheckoutM>;
  quotes: Record<string, QuoteM>;
  videos: Record<string, VideoM>;
  /** Balances of `client:{id}` and `creator:{id}` accounts the lifecycle touched. */
  accounts: Record<string, bigint>;
  /** L5: each paymentRef and what it paid for (a reuse for anything else is refused). */
  refs: Record<string, string>;
  /** Idempotency-Keys used more than once in the lifecycle: whether the request that ran was applied. */
  keys: Record<string, { applied: boolean; ex: number }>;
  timers: Timer[];
  /**
   * E3: the notifications the applied commands and fired deadlines imply, counted by
   * `order|kind|recipient` (notificationKey): derived here from SPEC's rules, apart from the product.
   */
  notes: Record<string, number>;
}

export function emptyWorld(): World {
  return { tasks: {}, boosts: {}, checkouts: {}, quotes: {}, videos: {}, accounts: {}, refs: {}, keys: {}, timers: [], notes: {} };
}

/** A notification as the checks compare it: the order's stream (`boost:{id}` for a boost), its kind, its recipient. */
export const notificationKey = (order: string, kind: string, recipient: string): string => `${order}|${kind}|${recipient}`;

/** E3: one notification the state change implies. */
export function notify(w: World, order: string, kind: string, ...recipients: string[]): void {
  for (const recipient of recipients) {
    const key = notificationKey(order, kind, recipient);
    w.notes[key] = (w.notes[key] ?? 0) + 1;
  }
}
export const clientOf = (t: { clientId: string }): string => `client:${t.clientId}`;
export const creatorOf = (t: { creatorId: string }): string => `creator:${t.creatorId}`;

export const clone = (w: World): World => structuredClone(w);

export function worldKey(w: World): string {
  return canonical({ ...w, timers: [...w.timers].sort((a, b) => timerId(a).localeCompare(timerId(b))) });
}

export const timerId = (t: Pick<Timer, 'kind' | 'id'>): string => `${t.kind}:${t.id}`;

/** JSON with sorted keys and bigints as `123n`, so equal states give equal strings. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return `${v.toString()}n`;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}

export const balanceOf = (w: World, account: string): bigint => w.accounts[account] ?? 0n;
export function credit(w: World, account: string, amountFen: bigint): void {
  w.accounts[account] = balanceOf(w, account) + amountFen;
}

export const feeOf = (t: TaskM): bigint => serviceFee(t.priceFen);
export const isClosed = (t: TaskM): boolean => t.status === 'completed' || t.status === 'cancelled';
/** T12: (final price + its service fee) − deposit, while the balance is due. */
export const balanceDue = (t: TaskM): bigint => (t.status === 'awaiting_balance' ? t.priceFen + feeOf(t) - t.depositFen : 0n);

export function removeTimers(w: World, id: string, kinds: readonly TimerKind[]): void {
  w.timers = w.timers.filter((t) => t.id !== id || !kinds.includes(t.kind));
}

export function addTimer(w: World, timer: Timer): void {
  removeTimers(w, timer.id, [timer.kind]);
  w.timers.push(timer);
}

export const TASK_TIMERS: readonly TimerKind[] = ['acceptance', 'balance', 'review', 'answer'];

/**
 * Closes a task order with its settlement (T6, T7, T11, T13, T20, T21): the escrow goes to the
 * client (refund, always to its account), the creator and the platform. B4: a linked boost still
 * awaiting publication learns of it shortly after (`when`).
 */
export function closeTask(w: World, t: TaskM, status: 'completed' | 'cancelled', reason: string | undefined, s: Settlement, when: Win): void {
  const total = s.refundFen + s.creatorFen + s.serviceFeeFen + s.forfeitedFen;
  if (total !== t.escrowFen) throw new Error(`model: settlement of ${t.id} (${total}) is not its escrow (${t.escrowFen}) (L6)`);
  t.status = status;
  if (reason !== undefined) t.cancelReason = reason;
  t.settlement = s;
  t.escrowFen = 0n;
  t.pending = undefined;
  credit(w, `client:${t.clientId}`, s.refundFen);
  credit(w, `creator:${t.creatorId}`, s.creatorFen);
  removeTimers(w, t.id, TASK_TIMERS);
  // E3: a completion settles both parties (T18); a cancellation tells both, with the client's
  // refund and the creator's compensation where money goes to them.
  if (status === 'completed') notify(w, t.id, 'settled', creatorOf(t), clientOf(t));
  else {
    notify(w, t.id, 'cancelled', clientOf(t), creatorOf(t));
    if (s.refundFen > 0n) notify(w, t.id, 'refund', clientOf(t));
    if (s.creatorFen > 0n) notify(w, t.id, 'compensation', creatorOf(t));
  }
  if (status === 'cancelled' && t.boostId) addTimer(w, { kind: 'boost_task_cancelled', id: t.boostId, lo: when.lo, hi: when.hi });
}

export const fullRefund = (t: TaskM): Settlement => ({ refundFen: t.escrowFen, creatorFen: 0n, serviceFeeFen: 0n, forfeitedFen: 0n });
