import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { loadTaskEvents } from '../../db/events';
import { fold, OPS_CANCEL_OUTCOMES, type TaskCommand } from '../../domain/task-order';
import { previewTaskCommand } from '../../domain/task-order/preview';
import { taskOrderWorkflowId } from '../../workflows/task-order-api';
import { boostOrderWorkflowId } from '../../workflows/boost-order-api';
import { IDEMPOTENCY_KEY_PATTERN } from '../idempotency';
import { seg, type ConsoleApi } from './api-client';
import { checkoutLink } from './checkout-page';
import { html, money, time, type Html } from './html';
import { CONSOLE_PATH, csrfField, notice, page } from './layout';
import { errorPage, refusalPage, sendPage, type ConsoleContext, type ConsoleRouter } from './respond';
import type { ConsoleSession } from './session';
import { changesOf, changesTable, deadlinesTable, eventsTable, ledgerTable, statusBadge, temporalCard, type LedgerTxJson } from './views';

const Reason = z.string().trim().min(1, 'a reason is required (O4, T23)').max(500);

/** O4's two actions as the order page's forms send them (the operator is the signed-in token's person: the API records it). */
export const ActionForm = z.discriminatedUnion('action', [
  z.object({ action: z.literal('arbitrate'), decision: z.enum(['confirm', 'decline']), reason: Reason }),
  z.object({ action: z.literal('cancel'), outcome: z.enum(OPS_CANCEL_OUTCOMES), reason: Reason }),
]);
type Action = z.infer<typeof ActionForm>;

const ConfirmForm = z.object({ idem: z.string().regex(IDEMPOTENCY_KEY_PATTERN), seenSeq: z.coerce.number().int().min(0) });

const OUTCOME_LABELS: Record<(typeof OPS_CANCEL_OUTCOMES)[number], string> = {
  full_refund: 'Full refund to the client (T6, T7, T11, T21)',
  creator_compensation: '50% of the price to the creator, the rest back (T20, after an upload)',
  deposit_forfeited: 'Deposit forfeited to the platform (T13, balance unpaid)',
};

const orderPath = (orderId: string) => `${CONSOLE_PATH}/ops/orders/${seg(orderId)}`;

function commandOf(action: Action, operator: string): TaskCommand {
  return action.action === 'arbitrate'
    ? { type: 'arbitrate', operator, decision: action.decision, reason: action.reason }
    : { type: 'ops_cancel', operator, outcome: action.outcome, reason: action.reason };
}

function describe(action: Action): string {
  return action.action === 'arbitrate' ? `${action.decision === 'confirm' ? 'Confirm' : 'Decline'} the cancellation request (O4, T22)` : `Cancel the order: ${OUTCOME_LABELS[action.outcome]}`;
}

function actionFields(action: Action): Html {
  return html`<input type="hidden" name="action" value="${action.action}">
${action.action === 'arbitrate' ? html`<input type="hidden" name="decision" value="${action.decision}">` : html`<input type="hidden" name="outcome" value="${action.outcome}">`}
<input type="hidden" name="reason" value="${action.reason}">`;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type OrderJson = any;

function facts(order: OrderJson): Html {
  const pending = order.pendingCancellation as { by?: { type: string; id: string }; reason?: string; escalated?: boolean } | null;
  return html`<div class="grid">
<div class="card"><dl class="facts">
<dt>Status</dt><dd>${statusBadge(order.status)}${order.cancelReason ? html` <code>${order.cancelReason}</code>` : ''}</dd>
<dt>Title</dt><dd>${order.title}</dd>
<dt>Client</dt><dd>${order.clientId}</dd><dt>Creator</dt><dd>${order.creatorId}</dd>
${checkoutLink(order.checkoutId)}
<dt>Placed</dt><dd>${time(order.createdAt)}</dd><dt>Accepted</dt><dd>${time(order.acceptedAt)}</dd>
<dt>Uploads</dt><dd>${order.uploads}</dd><dt>Expected publish</dt><dd>${time(order.expectedPublishAt)}</dd>
</dl></div>
<div class="card"><dl class="facts">
<dt>Payment mode</dt><dd>${order.paymentMode}</dd>
<dt>Price</dt><dd>${money(order.priceFen)}</dd><dt>Service fee</dt><dd>${money(order.serviceFeeFen)}</dd>
<dt>Paid in</dt><dd>${money(order.paidInFen)}</dd><dt>In escrow</dt><dd>${money(order.escrowFen)}</dd>
<dt>Balance due</dt><dd>${money(order.balanceDueFen)}</dd>
<dt>Cancellation</dt><dd>${pending ? html`requested by ${pending.by?.type} ${pending.by?.id}: ${pending.reason ?? ''} ${pending.escalated ? html`<span class="badge bad">awaiting arbitration</span>` : ''}` : html`<span class="muted">none pending</span>`}</dd>
</dl></div>
</div>`;
}

function actionForms(order: OrderJson, session: ConsoleSession): Html {
  if (order.status === 'completed' || order.status === 'cancelled') return html`<p class="muted">The order is closed: no action applies.</p>`;
  const escalated = (order.pendingCancellation as { escalated?: boolean } | null)?.escalated === true;
  const preview = `${orderPath(order.orderId)}/preview`;
  const reason = (id: string) => html`<label for="${id}">Reason (recorded with your name)</label><textarea id="${id}" name="reason" required maxlength="500"></textarea>`;
  return html`<div class="actions">
${escalated ? html`<form method="post" action="${preview}" class="card" aria-label="arbitrate">
<h3>Arbitrate the cancellation request</h3>${csrfField(session)}<input type="hidden" name="action" value="arbitrate">
<fieldset><legend>Decision</legend>
<label><span><input type="radio" name="decision" value="confirm" required> confirm: cancel with the requester's money outcome</span></label>
<label><span><input type="radio" name="decision" value="decline"> decline: the order continues</span></label></fieldset>
${reason('arbitrate-reason')}<button type="submit">Preview…</button></form>` : ''}
<form method="post" action="${preview}" class="card" aria-label="cancel">
<h3>Cancel with a money outcome</h3>${csrfField(session)}<input type="hidden" name="action" value="cancel">
<label>Outcome<select name="outcome">${OPS_CANCEL_OUTCOMES.map((o) => html`<option value="${o}">${OUTCOME_LABELS[o]}</option>`)}</select></label>
${reason('cancel-reason')}<button type="submit" class="danger">Preview…</button></form>
</div>`;
}

async function renderOrderPage(api: ConsoleApi, context: ConsoleContext, session: ConsoleSession, orderId: string) {
  const answer = await api('GET', `/v1/ops/orders/${seg(orderId)}`);
  if (answer.status !== 200) return { answer };
  const { order, events, ledger, temporal } = answer.body;
  const now = await context.nowMs();
  return {
    answer,
    body: page({
      title: `Order ${orderId}`,
      session,
      body: html`${facts(order)}
<h2>Actions (O4)</h2>${actionForms(order, session)}
<h2>Deadlines</h2>${deadlinesTable(order.deadlines, now)}
<h2>Timeline</h2>${eventsTable(events)}
<h2>Ledger</h2>${ledgerTable('Ledger transactions of this order', ledger, false)}
<h2>Temporal</h2>${temporalCard(temporal, taskOrderWorkflowId(orderId), context.temporalUiUrl, context.namespace)}`,
    }),
  };
}

export function registerOrderPages(router: ConsoleRouter, context: ConsoleContext): void {
  router.get(`${CONSOLE_PATH}/ops/orders/:orderId`, async ({ api, session }, request, reply) => {
    const { orderId } = request.params as { orderId: string };
    const rendered = await renderOrderPage(api, context, session, orderId);
    return rendered.body ?? refusalPage(reply, session, rendered.answer, `Order ${orderId}`);
  });

  // The preview: the decider's own outcome on the order's current state (domain/task-order/preview.ts).
  router.post(`${CONSOLE_PATH}/ops/orders/:orderId/preview`, async ({ api, session }, request, reply) => {
    const { orderId } = request.params as { orderId: string };
    const form = ActionForm.safeParse(request.body);
    if (!form.success) return sendPage(reply, 400, errorPage(session, 'Incomplete action', form.error.issues.map((i) => i.message).join('; ')));
    const inspection = await api('GET', `/v1/ops/orders/${seg(orderId)}`); // the API's role check first: finance gets its 403 here
    if (inspection.status !== 200) return refusalPage(reply, session, inspection, `Order ${orderId}`);
    const state = fold(await loadTaskEvents(context.db, orderId));
    if (!state) return sendPage(reply, 404, errorPage(session, 'Not found', `order ${orderId} has no events`));
    const preview = previewTaskCommand(state, commandOf(form.data, session.person), await context.nowMs());
    const seenSeq = Math.max(0, ...(inspection.body.ledger as LedgerTxJson[]).map((t) => t.seq));
    const body = preview.ok
      ? html`${notice('info', html`<strong>${describe(form.data)}</strong> — reason: “${form.data.reason}”. Nothing has happened yet. If confirmed now, the order becomes ${statusBadge(preview.after.status)} and:`)}
${changesTable('What every account receives', preview.changes)}
<form method="post" action="${orderPath(orderId)}/actions" class="inline">${csrfField(session)}${actionFields(form.data)}
<input type="hidden" name="idem" value="console-${randomUUID()}"><input type="hidden" name="seenSeq" value="${seenSeq}">
<button type="submit" autofocus>Confirm</button><a class="button secondary" href="${orderPath(orderId)}">Back</a></form>`
      : html`${notice('error', html`The order's workflow would refuse this: <code>${preview.rejection.code}</code> ${preview.rejection.message}`)}<p><a href="${orderPath(orderId)}">Back to the order</a></p>`;
    return sendPage(reply, preview.ok ? 200 : 409, page({ title: `Preview · order ${orderId}`, session, body }));
  });

  router.post(`${CONSOLE_PATH}/ops/orders/:orderId/actions`, async ({ api, session }, request, reply) => {
    const { orderId } = request.params as { orderId: string };
    const form = ActionForm.safeParse(request.body);
    const confirm = ConfirmForm.safeParse(request.body);
    if (!form.success || !confirm.success) return sendPage(reply, 400, errorPage(session, 'Incomplete action', 'Start the action again from the order page.'));
    const a = form.data;
    const body = a.action === 'arbitrate' ? { action: a.action, decision: a.decision, reason: a.reason } : { action: a.action, outcome: a.outcome, reason: a.reason };
    const answer = await api('POST', `/v1/ops/orders/${seg(orderId)}/actions`, body, confirm.data.idem);
    if (answer.status !== 200 && answer.status !== 202) return refusalPage(reply, session, answer, describe(a));
    const after = await api('GET', `/v1/ops/orders/${seg(orderId)}`);
    const posted = after.status === 200 ? (after.body.ledger as LedgerTxJson[]).filter((t) => t.seq > confirm.data.seenSeq) : [];
    const replayed = answer.headers.get('idempotent-replayed') === 'true';
    return page({
      title: `Done · order ${orderId}`,
      session,
      body: html`${notice('ok', html`${describe(a)}: ${answer.status === 202 ? 'accepted, not saved yet — reload the order in a moment' : html`applied; the order is now ${statusBadge(answer.body.status)}`}${replayed ? ' (this confirmation had already been applied: nothing ran twice)' : ''}.`)}
${changesTable('Money moved', changesOf(posted))}
${ledgerTable('Transactions posted', posted, false)}
<p><a class="button" href="${orderPath(orderId)}">Back to the order</a></p>`,
    });
  });

  router.get(`${CONSOLE_PATH}/ops/boost-orders/:boostOrderId`, async ({ api, session }, request, reply) => {
    const { boostOrderId } = request.params as { boostOrderId: string };
    const [view, inspection] = [await api('GET', `/v1/boost-orders/${seg(boostOrderId)}`), await api('GET', `/v1/ops/boost-orders/${seg(boostOrderId)}`)];
    if (view.status !== 200) return refusalPage(reply, session, view, `Boost order ${boostOrderId}`);
    if (inspection.status !== 200) return refusalPage(reply, session, inspection, `Boost order ${boostOrderId}`);
    const b = view.body;
    const now = await context.nowMs();
    return page({
      title: `Boost order ${boostOrderId}`,
      session,
      body: html`<div class="card"><dl class="facts">
<dt>Status</dt><dd>${statusBadge(b.status)} ${b.endReason ?? ''}</dd><dt>Task order</dt><dd><a href="${orderPath(b.taskOrderId)}">${b.taskOrderId}</a></dd>
<dt>Client</dt><dd>${b.clientId}</dd>${checkoutLink(b.checkoutId)}<dt>Boost fee</dt><dd>${money(b.boostFeeFen)}</dd><dt>In escrow</dt><dd>${money(b.escrowFen)}</dd>
<dt>Expected views</dt><dd>${b.expectedViews}</dd>
<dt>Refund</dt><dd>${b.refund ? html`${money(b.refund.amountFen)} due ${time(b.refund.dueAt)}${b.refund.postedAt ? html`, posted ${time(b.refund.postedAt)}` : html` — <a href="${CONSOLE_PATH}/refunds/${seg(boostOrderId)}">release early…</a>`}` : html`<span class="muted">none</span>`}</dd>
</dl></div>
<h2>Deadlines</h2>${deadlinesTable(b.deadlines, now)}
<h2>Timeline</h2>${eventsTable(inspection.body.events)}
<h2>Ledger</h2>${ledgerTable('Ledger transactions of this boost order', inspection.body.ledger, false)}
<h2>Temporal</h2>${temporalCard(inspection.body.temporal, boostOrderWorkflowId(boostOrderId), context.temporalUiUrl, context.namespace)}`,
    });
  });
}
