import { ApplicationFailure, ActivityFailure, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  allHandlersFinished,
  condition,
  log,
  ParentClosePolicy,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  startChild,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { BoostTermsSnapshot } from '../domain/boost/types';
import {
  checkoutPaidEvent,
  checkoutRefusedEvent,
  CLOSED_CHECKOUT_STATUSES,
  decideCheckout,
  evolveCheckout,
  priceCheckout,
  type CheckoutCommand,
  type CheckoutEvent,
  type CheckoutFailure,
  type CheckoutState,
  type CheckoutTerms,
  type PricedLine,
} from '../domain/checkout';
import { ACTIVITY_FAILURE } from '../domain/activity-failures';
import { reject } from '../domain/errors';
import type { TaskPlacement } from '../domain/task-order/types';
import { BOOST_ORDER_WORKFLOW, boostOrderWorkflowId, type BoostOrderInput, type BoostOrderResult } from './boost-order-api';
import { checkoutOrderPlacedSignal, checkoutOutcomeUpdate, checkoutStateQuery, type CheckoutInput } from './checkout-api';
import { CHECKOUT_KIND } from '../domain/checkout/kind';
import { createOrderRuntime } from './order-runtime';
import { TASK_ORDER_WORKFLOW, taskOrderWorkflowId, type TaskOrderInput, type TaskOrderResult } from './task-order-api';
import { LOCAL_WRITE_OPTIONS, failureType, paymentRejection, writeLocallyFirst } from './workflow-support';

const { recordCheckoutEvents, checkoutContext, placedCheckoutOrders } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  // Unlimited attempts: an activity that keeps failing shows up in the ops stuck list (O1).
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/** C4: a line's placement not reported by its workflow's signal is looked up in the read model this often. */
const PLACEMENT_RECHECK = '5 seconds';

/**
 * One durable workflow per checkout (C1–C5): every line is checked, then the total is paid once
 * into escrow:checkout:{id} — the payment's write claims every line's ids (migration 0012) — and
 * only then is each line placed as its own task order (and boost order), funded from that escrow.
 * A refusal before the payment records only the refusal: no order, no money (C3).
 */
export async function checkoutWorkflow({ request, taskPolicy, boostPolicy }: CheckoutInput): Promise<{ readonly placed: true; readonly final: CheckoutState }> {
  // Every order kind's run ends with its final state (F3 compares it with the events): a refused
  // checkout is a checkout too, closed `failed`.
  return { placed: true, final: await runCheckout({ request, taskPolicy, boostPolicy }) };
}

async function runCheckout({ request, taskPolicy, boostPolicy }: CheckoutInput): Promise<CheckoutState> {
  // E1 (SPEC §10 Speed): the checkout's write inside its workflow task, falling back to the regular
  // activity; made per run: it keeps which workflow task wrote locally (module state is no place for that).
  const recordCheckoutEventsLocallyFirst = writeLocallyFirst(proxyLocalActivities<Activities>(LOCAL_WRITE_OPTIONS).recordCheckoutEvents, recordCheckoutEvents);

  const { checkoutId } = request;
  const order = createOrderRuntime(
    CHECKOUT_KIND,
    { persist: (events, causation) => recordCheckoutEventsLocallyFirst({ checkoutId, events, causation, returnStored: true }), wroteLocally: recordCheckoutEventsLocallyFirst.wroteLocally },
    () => undefined, // a checkout has no deadline of its own
  );
  const closed = () => order.state !== undefined && CLOSED_CHECKOUT_STATUSES.includes(order.state.status);
  const reported = new Set<string>();
  /** A line's order refused after the payment (a bug): the checkout stops for ops. */
  let refusedAfterPayment: string | undefined;
  setHandler(checkoutOrderPlacedSignal, ({ kind, id }) => void reported.add(`${kind}:${id}`));
  setHandler(checkoutStateQuery, () => order.state);
  setHandler(checkoutOutcomeUpdate, async () => {
    await condition(closed);
    if (!order.state) throw new Error('unreachable: closed without a state');
    return order.state;
  });

  // ── C2/C3: every check, then the payment; a refusal records only itself ─────────────────────
  const context = await checkoutContext(request);
  const pricing = priceCheckout(
    request,
    { quotes: new Map(context.quotes.map((q) => [q.quoteId, q])), usedOrderIds: new Set(context.usedOrderIds), usedBoostOrderIds: new Set(context.usedBoostOrderIds) },
    Date.now(),
    { task: taskPolicy, boost: boostPolicy },
  );
  let failure: CheckoutFailure | undefined = pricing.ok ? undefined : pricing.failure;
  if (pricing.ok) {
    const paid = await order.place(() => checkoutPaidEvent(pricing.terms), `workflow:${workflowInfo().workflowId}`, (error) => {
      failure = paymentFailure(error, pricing.terms);
      return failure?.rejection;
    });
    if (paid) return placeLines(pricing.terms);
  }
  if (!failure) throw new Error('unreachable: a checkout neither paid nor refused');
  const refused = checkoutRefusedEvent(request, failure);
  await order.record([refused], `workflow:${workflowInfo().workflowId}`, Date.now(), () => [refused]);
  await condition(allHandlersFinished);
  return order.state ?? unreachable();

  // ── C4: every line placed, task first, then its boost; then complete ────────────────────────
  async function placeLines(terms: CheckoutTerms): Promise<CheckoutState> {
    await Promise.all(terms.lines.map((line) => startOnce(() => startTask(terms, line))));
    await untilStored('task', terms.lines.map((l) => l.orderId));
    await recordAll(terms.lines.map((_, lineIndex) => ({ type: 'task_placed', lineIndex })), 'checkout:tasks-placed');
    const boosted = terms.lines.flatMap((line, lineIndex) => (line.boostTerms ? [{ line, lineIndex, boost: line.boostTerms }] : []));
    await Promise.all(boosted.map(({ line }) => startOnce(() => startBoost(terms, line))));
    await untilStored('boost', boosted.map((b) => b.boost.boostOrderId));
    await recordAll(boosted.map(({ lineIndex }) => ({ type: 'boost_placed', lineIndex })), 'checkout:boosts-placed');
    await recordAll([{ type: 'complete' }], 'checkout:complete');
    await condition(allHandlersFinished);
    return order.state ?? unreachable();
  }

  function startTask(terms: CheckoutTerms, line: PricedLine): Promise<ChildWorkflowHandle<(input: TaskOrderInput) => Promise<TaskOrderResult>>> {
    const placement: TaskPlacement = {
      orderId: line.orderId,
      clientId: terms.clientId,
      creatorId: line.creatorId,
      taskType: line.taskType,
      priceFen: line.priceFen,
      brief: line.brief,
      paymentMode: terms.paymentMode,
      funding: { source: 'checkout', checkoutId },
    };
    const input: TaskOrderInput = { placement, policy: taskPolicy };
    return startChild(TASK_ORDER_WORKFLOW, { workflowId: taskOrderWorkflowId(line.orderId), args: [input], parentClosePolicy: ParentClosePolicy.ABANDON });
  }

  function startBoost(terms: CheckoutTerms, line: PricedLine): Promise<ChildWorkflowHandle<(input: BoostOrderInput) => Promise<BoostOrderResult>>> {
    const boost = line.boostTerms ?? unreachable();
    const boostTerms: BoostTermsSnapshot = {
      boostOrderId: boost.boostOrderId,
      taskOrderId: line.orderId,
      clientId: terms.clientId,
      creatorId: line.creatorId,
      quoteId: boost.quoteId,
      priceFen: line.priceFen,
      boostFeeFen: boost.boostFeeFen,
      expectedViews: boost.expectedViews,
      premiumBp: boost.premiumBp,
      funding: { source: 'checkout', checkoutId },
    };
    const input: BoostOrderInput = { terms: boostTerms, policy: boostPolicy };
    return startChild(BOOST_ORDER_WORKFLOW, { workflowId: boostOrderWorkflowId(boost.boostOrderId), args: [input], parentClosePolicy: ParentClosePolicy.ABANDON });
  }

  /**
   * Starts a line's order workflow. Its id is claimed by this checkout, so a run already holding
   * it is a single placement that will be refused and close: wait for it and start again. A child
   * whose own placement is refused after the payment is a bug: stop for ops (the money stays in
   * the checkout's escrow, which the audit reports).
   */
  async function startOnce(start: () => Promise<{ readonly workflowId: string; result(): Promise<TaskOrderResult | BoostOrderResult> }>): Promise<void> {
    for (;;) {
      try {
        const child = await start();
        void child.result().then((result) => {
          if (!result.placed) refusedAfterPayment = `${child.workflowId}: ${result.rejection.code} ${result.rejection.message}`;
        }, () => undefined);
        return;
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
        log.info('a line id is held by another run; starting again shortly', { checkoutId, error: String(error) });
        await sleep('1 second');
      }
    }
  }

  /** Until every id's placement is stored: the child's signal, or the read model on a durable timer. */
  async function untilStored(kind: 'task' | 'boost', ids: readonly string[]): Promise<void> {
    const missing = () => ids.filter((id) => !reported.has(`${kind}:${id}`));
    while (missing().length > 0) {
      if (await condition(() => missing().length === 0 || refusedAfterPayment !== undefined, PLACEMENT_RECHECK)) {
        if (refusedAfterPayment !== undefined) throw new Error(`stopped for ops: a line was refused after the checkout's payment: ${refusedAfterPayment}`);
        continue;
      }
      const stored = await placedCheckoutOrders(kind === 'task' ? { orderIds: missing(), boostOrderIds: [] } : { orderIds: [], boostOrderIds: missing() });
      for (const id of kind === 'task' ? stored.orderIds : stored.boostOrderIds) reported.add(`${kind}:${id}`);
    }
  }

  /** Decides `commands` one after another on the evolving state and records their events in one write. */
  async function recordAll(commands: readonly CheckoutCommand[], causation: string): Promise<void> {
    await order.exclusive(async () => {
      const current = order.state ?? unreachable();
      const decideAll = (atMs: number): CheckoutEvent[] => {
        let state = current;
        const events: CheckoutEvent[] = [];
        for (const command of commands) {
          const decision = decideCheckout(state, command, atMs);
          if (!decision.ok) throw new Error(`checkout ${checkoutId}: ${command.type} refused: ${decision.rejection.message}`);
          for (const event of decision.events) {
            events.push(event);
            state = evolveCheckout(state, { version: state.version + 1, occurredAt: atMs, event });
          }
        }
        return events;
      };
      const now = Date.now();
      await order.record(decideAll(now), causation, now, decideAll);
    });
  }
}


/** C3: the payment's write refused: no money (L2), a payment reference used (L5), or a line's id taken meanwhile. */
function paymentFailure(error: unknown, terms: CheckoutTerms): CheckoutFailure | undefined {
  if (failureType(error) === ACTIVITY_FAILURE.orderIdTaken) {
    const taken = takenId(error);
    const lineIndex = terms.lines.findIndex((l) => `task:${l.orderId}` === taken || (l.boostTerms && `boost:${l.boostTerms.boostOrderId}` === taken));
    const rejection = reject('invalid_state', `${taken.replace(':', ' id ')} is already used by another order or checkout (C3)`);
    return lineIndex >= 0 ? { lineIndex, rejection: { ...rejection, message: `line ${lineIndex}: ${rejection.message}`, details: { lineIndex } } } : { rejection };
  }
  const rejection = paymentRejection(error, 'the checkout payment');
  return rejection ? { rejection } : undefined;
}

function takenId(error: unknown): string {
  const cause = error instanceof ActivityFailure ? error.cause : undefined;
  const details = cause instanceof ApplicationFailure ? cause.details : undefined;
  return typeof details?.[0] === 'string' ? details[0] : '';
}

function unreachable(): never {
  throw new Error('unreachable');
}
