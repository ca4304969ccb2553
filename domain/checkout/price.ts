import { reject, type Rejection } from '../errors';
import { decideBoostOrder, DEFAULT_BOOST_POLICY, type BoostPolicy, type CitedQuote } from '../boost';
import { evolve, placementEvent, DEFAULT_TASK_POLICY, type TaskPlacement, type TaskPolicy } from '../task-order';
import { MAX_CHECKOUT_LINES, type CheckoutFailure, type CheckoutLineRequest, type CheckoutRequest, type CheckoutTerms, type PricedLine } from './types';

/** C2/C3: what the caller looked up for a checkout before pricing it. */
export interface CheckoutContext {
  /** The cited quotes by id, each with the client it was made for (B1: another client's quote is forbidden). */
  readonly quotes: ReadonlyMap<string, CitedQuote & { readonly clientId: string | null }>;
  /** Task order ids already used by an order (C3: an id already used refuses the line). */
  readonly usedOrderIds: ReadonlySet<string>;
  /** Boost order ids already used. */
  readonly usedBoostOrderIds: ReadonlySet<string>;
}

export interface CheckoutPolicies {
  readonly task: TaskPolicy;
  readonly boost: BoostPolicy;
}

export const DEFAULT_CHECKOUT_POLICIES: CheckoutPolicies = { task: DEFAULT_TASK_POLICY, boost: DEFAULT_BOOST_POLICY };

export type CheckoutPricing = { readonly ok: true; readonly terms: CheckoutTerms } | { readonly ok: false; readonly failure: CheckoutFailure };

/**
 * C1–C3: prices a checkout at `nowMs` or names its first failing line. Each line is checked as its
 * own placement would be (T1–T4) and its boost as B3 would check it against the task order the
 * line is about to place (the same decider, so the rules cannot drift); nothing is written.
 */
export function priceCheckout(request: CheckoutRequest, context: CheckoutContext, nowMs: number, policies: CheckoutPolicies = DEFAULT_CHECKOUT_POLICIES): CheckoutPricing {
  const whole = wholeRequestRejection(request);
  if (whole) return { ok: false, failure: { rejection: whole } };
  const seen = { creators: new Set<string>(), orders: new Set<string>(), boosts: new Set<string>() };
  const lines: PricedLine[] = [];
  for (const [lineIndex, line] of request.lines.entries()) {
    const priced = priceLine(request, line, context, seen, nowMs, policies);
    if ('rejection' in priced) return { ok: false, failure: { lineIndex, rejection: withLine(priced.rejection, lineIndex) } };
    lines.push(priced.line);
  }
  const totalFen = lines.reduce((sum, l) => sum + l.lineTotalFen, 0n);
  const { checkoutId, clientId, paymentMode, funding } = request;
  return { ok: true, terms: { checkoutId, clientId, paymentMode, funding, lines, totalFen } };
}

function wholeRequestRejection(request: CheckoutRequest): Rejection | undefined {
  if (request.lines.length < 1 || request.lines.length > MAX_CHECKOUT_LINES) {
    return reject('validation_failed', `a checkout has 1–${MAX_CHECKOUT_LINES} lines (C1), not ${request.lines.length}`);
  }
  if (request.funding.source === 'external' && request.funding.paymentRef.length === 0) return reject('validation_failed', 'an external payment needs its paymentRef (L5)');
  return undefined;
}

function withLine(rejection: Rejection, lineIndex: number): Rejection {
  return { ...rejection, message: `line ${lineIndex}: ${rejection.message}`, details: { ...rejection.details, lineIndex } };
}

type Seen = { readonly creators: Set<string>; readonly orders: Set<string>; readonly boosts: Set<string> };

function priceLine(
  request: CheckoutRequest,
  line: CheckoutLineRequest,
  context: CheckoutContext,
  seen: Seen,
  nowMs: number,
  policies: CheckoutPolicies,
): { readonly line: PricedLine } | { readonly rejection: Rejection } {
  const repeated = repeatedId(line, seen);
  if (repeated) return { rejection: repeated };
  if (context.usedOrderIds.has(line.orderId)) return { rejection: reject('invalid_state', `orderId ${line.orderId} is already used by an order (C3)`, { orderId: line.orderId }) };
  const placement: TaskPlacement = {
    orderId: line.orderId,
    clientId: request.clientId,
    creatorId: line.creatorId,
    taskType: line.taskType,
    priceFen: line.priceFen,
    brief: line.brief,
    paymentMode: request.paymentMode,
    funding: { source: 'checkout', checkoutId: request.checkoutId },
  };
  const placed = placementEvent(placement, policies.task);
  if (placed.type !== 'TaskOrderPlaced') throw new Error('placementEvent: expected TaskOrderPlaced');
  const base = { ...line, serviceFeeFen: placed.serviceFeeFen, placementFen: placed.paidFen };
  if (!line.boost) return { line: { ...base, lineTotalFen: placed.paidFen } };

  const { boostOrderId, quoteId } = line.boost;
  if (context.usedBoostOrderIds.has(boostOrderId)) return { rejection: reject('invalid_state', `boostOrderId ${boostOrderId} is already used by a boost order (C3)`, { boostOrderId }) };
  const quote = context.quotes.get(quoteId);
  if (quote && quote.clientId !== null && quote.clientId !== request.clientId) return { rejection: reject('forbidden', `quote ${quoteId} was made for another client (B1)`) };
  // B3 exactly as a boost order for this line's task order, once placed, would be decided.
  const task = evolve(undefined, { version: 1, occurredAt: nowMs, event: placed });
  const decision = decideBoostOrder({ boostOrderId, taskOrderId: line.orderId, clientId: request.clientId, quoteId, funding: placement.funding }, { task, quote }, nowMs, policies.boost);
  if (!decision.ok) return { rejection: decision.rejection };
  const ordered = decision.events[0];
  if (ordered?.type !== 'BoostOrdered') throw new Error('decideBoostOrder: expected BoostOrdered');
  const boostTerms = { boostOrderId, quoteId, boostFeeFen: ordered.boostFeeFen, expectedViews: ordered.expectedViews, premiumBp: ordered.premiumBp };
  return { line: { ...base, boostTerms, lineTotalFen: placed.paidFen + ordered.boostFeeFen } };
}

/**
 * C1: the first line that repeats a creator, an order id or a boost id of an earlier line, and why;
 * undefined when none does. A malformed request, refused before anything is recorded (§8).
 */
export function firstRepeatedLine(lines: readonly CheckoutLineRequest[]): CheckoutFailure | undefined {
  const seen: Seen = { creators: new Set(), orders: new Set(), boosts: new Set() };
  for (const [lineIndex, line] of lines.entries()) {
    const repeated = repeatedId(line, seen);
    if (repeated) return { lineIndex, rejection: withLine(repeated, lineIndex) };
  }
  return undefined;
}

/** C1: a creator at most once per checkout; an order or boost id at most once. */
function repeatedId(line: CheckoutLineRequest, seen: Seen): Rejection | undefined {
  if (seen.creators.has(line.creatorId)) return reject('validation_failed', `creator ${line.creatorId} appears twice (C1: at most once per checkout)`, { creatorId: line.creatorId });
  if (seen.orders.has(line.orderId) || seen.boosts.has(line.orderId)) return reject('validation_failed', `orderId ${line.orderId} appears twice in the checkout (C1)`, { orderId: line.orderId });
  seen.creators.add(line.creatorId);
  seen.orders.add(line.orderId);
  if (line.boost) {
    // Either way round, and on its own line: one id naming a task order and a boost order of one basket would confuse its readers.
    if (seen.boosts.has(line.boost.boostOrderId) || seen.orders.has(line.boost.boostOrderId)) return reject('validation_failed', `boostOrderId ${line.boost.boostOrderId} appears twice in the checkout (C1)`, { boostOrderId: line.boost.boostOrderId });
    seen.boosts.add(line.boost.boostOrderId);
  }
  return undefined;
}
