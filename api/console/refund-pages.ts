import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { loadBoostEvents, scheduledRefunds } from '../../db/boost-orders';
import { lastLedgerSeq, ledgerTransactionsAfter } from '../../db/order-ledger';
import type { Db } from '../../db/connect';
import { foldBoost } from '../../domain/boost';
import { previewBoostCommand } from '../../domain/boost/preview';
import { IDEMPOTENCY_KEY_PATTERN } from '../idempotency';
import { seg } from './api-client';
import { html, money, time, type Html } from './html';
import { CONSOLE_PATH, csrfField, notice, num, page, table } from './layout';
import { errorPage, refusalPage, sendPage, type ConsoleContext, type ConsoleRouter } from './respond';
import type { ConsoleSession } from './session';
import { changesOf, changesTable, countdown, ledgerTable, statusBadge, type LedgerTxJson } from './views';

/** Due within this many days counts as "due soon". */
const DUE_SOON_DAYS = 3;
const MAX_LISTED = 200;

const ReleaseForm = z.object({ reason: z.string().trim().min(1, 'a reason is required').max(500) });
const ConfirmForm = z.object({ idem: z.string().regex(IDEMPOTENCY_KEY_PATTERN), seenSeq: z.coerce.number().int().min(0) });

const refundPath = (id: string) => `${CONSOLE_PATH}/refunds/${seg(id)}`;

function mayRelease(session: ConsoleSession): session is ConsoleSession & { role: 'ops' | 'finance' } {
  return session.role === 'ops' || session.role === 'finance';
}

async function refundsList(context: ConsoleContext, session: ConsoleSession): Promise<Html> {
  const now = await context.nowMs();
  const rows = await scheduledRefunds(context.db, MAX_LISTED);
  const line = (r: (typeof rows)[number]) => html`<tr><td><a href="${refundPath(r.boost_order_id)}">${r.boost_order_id}</a></td><td>${r.task_order_id}</td><td>${r.client_id}</td>
<td class="num">${money(r.refund_fen)}</td><td>${time(r.refund_due_at?.toISOString())}</td><td>${r.refund_due_at ? countdown(r.refund_due_at.toISOString(), now) : ''}</td>
<td>${r.calendar_missing ? html`<span class="badge warn">calendar missing</span>` : ''}</td><td><a class="button secondary" href="${refundPath(r.boost_order_id)}">Release early…</a></td></tr>`;
  const head = ['Boost order', 'Task order', 'Client', num('Refund'), 'Due', 'Countdown', '', ''];
  const overdue = rows.filter((r) => r.refund_due_at && r.refund_due_at.getTime() <= now);
  const soon = rows.filter((r) => r.refund_due_at && r.refund_due_at.getTime() > now && r.refund_due_at.getTime() <= now + DUE_SOON_DAYS * 86_400_000);
  const later = rows.filter((r) => !overdue.includes(r) && !soon.includes(r));
  void session;
  return html`<p>Refunds are posted automatically at their due time (B7); release one early here (F5).</p>
${table('Overdue (should have been posted: is a worker running?)', head, overdue.map(line), 'none overdue')}
${table(`Due within ${DUE_SOON_DAYS} days`, head, soon.map(line), 'none due soon')}
${table('Scheduled later', head, later.map(line), 'none')}`;
}

export function registerRefundPages(router: ConsoleRouter, context: ConsoleContext): void {
  router.get(`${CONSOLE_PATH}/refunds`, async ({ session }, _request, reply) => {
    if (!mayRelease(session)) return sendPage(reply, 403, errorPage(session, 'Not allowed', 'Only ops and finance see boost refunds.'));
    return page({ title: 'Scheduled boost refunds', session, current: `${CONSOLE_PATH}/refunds`, body: await refundsList(context, session) });
  });

  router.get(`${CONSOLE_PATH}/refunds/:boostOrderId`, async ({ api, session }, request, reply) => {
    const { boostOrderId } = request.params as { boostOrderId: string };
    const view = await api('GET', `/v1/boost-orders/${seg(boostOrderId)}`);
    if (view.status !== 200) return refusalPage(reply, session, view, `Boost order ${boostOrderId}`);
    const b = view.body;
    return page({
      title: `Release the refund of ${boostOrderId}`,
      session,
      body: html`<div class="card"><dl class="facts"><dt>Status</dt><dd>${statusBadge(b.status)}</dd><dt>Client</dt><dd>${b.clientId}</dd>
<dt>Refund</dt><dd>${b.refund ? html`${money(b.refund.amountFen)} due ${time(b.refund.dueAt)}` : 'none scheduled'}</dd></dl></div>
<div class="actions"><form method="post" action="${refundPath(boostOrderId)}/preview" class="card" aria-label="release the refund early">${csrfField(session)}
<label for="release-reason">Reason (recorded with your name)</label><textarea id="release-reason" name="reason" required maxlength="500"></textarea>
<button type="submit">Preview…</button></form></div>`,
    });
  });

  router.post(`${CONSOLE_PATH}/refunds/:boostOrderId/preview`, async ({ api, session }, request, reply) => {
    const { boostOrderId } = request.params as { boostOrderId: string };
    const form = ReleaseForm.safeParse(request.body);
    if (!form.success) return sendPage(reply, 400, errorPage(session, 'Incomplete action', form.error.issues.map((i) => i.message).join('; ')));
    if (!mayRelease(session)) return sendPage(reply, 403, errorPage(session, 'Not allowed', 'Only ops and finance release refunds (F5).'));
    const inspection = await api('GET', `/v1/boost-orders/${seg(boostOrderId)}`);
    if (inspection.status !== 200) return refusalPage(reply, session, inspection, `Boost order ${boostOrderId}`);
    const state = foldBoost(await loadBoostEvents(context.db, boostOrderId));
    if (!state) return sendPage(reply, 404, errorPage(session, 'Not found', `boost order ${boostOrderId} has no events`));
    const preview = previewBoostCommand(state, { type: 'release_refund', by: { type: session.role, id: session.person }, reason: form.data.reason }, await context.nowMs());
    const seenSeq = await lastLedgerSeq(context.db, boostOrderId);
    const body = preview.ok
      ? html`${notice('info', html`<strong>Release the refund now</strong> — reason: “${form.data.reason}”. Nothing has happened yet. If confirmed:`)}
${changesTable('What every account receives', preview.changes)}
<form method="post" action="${refundPath(boostOrderId)}/release" class="inline">${csrfField(session)}<input type="hidden" name="reason" value="${form.data.reason}">
<input type="hidden" name="idem" value="console-${randomUUID()}"><input type="hidden" name="seenSeq" value="${seenSeq}">
<button type="submit" autofocus>Confirm</button><a class="button secondary" href="${CONSOLE_PATH}/refunds">Back</a></form>`
      : html`${notice('error', html`The boost order's workflow would refuse this: <code>${preview.rejection.code}</code> ${preview.rejection.message}`)}<p><a href="${CONSOLE_PATH}/refunds">Back</a></p>`;
    return sendPage(reply, preview.ok ? 200 : 409, page({ title: `Preview · refund of ${boostOrderId}`, session, body }));
  });

  router.post(`${CONSOLE_PATH}/refunds/:boostOrderId/release`, async ({ api, session }, request, reply) => {
    const { boostOrderId } = request.params as { boostOrderId: string };
    const form = ReleaseForm.safeParse(request.body);
    const confirm = ConfirmForm.safeParse(request.body);
    if (!form.success || !confirm.success) return sendPage(reply, 400, errorPage(session, 'Incomplete action', 'Start again from the refunds page.'));
    const answer = await api('POST', `/v1/boost-orders/${seg(boostOrderId)}/release-refund`, { reason: form.data.reason }, confirm.data.idem);
    if (answer.status !== 200) return refusalPage(reply, session, answer, 'Releasing the refund');
    const posted = await transactionsSince(context.db, boostOrderId, confirm.data.seenSeq);
    return page({
      title: `Done · refund of ${boostOrderId}`,
      session,
      body: html`${notice('ok', html`The refund of ${money(answer.body.refund?.amountFen)} was posted ${time(answer.body.refund?.postedAt)}.`)}
${changesTable('Money moved', changesOf(posted))}${ledgerTable('Transactions posted', posted, session.role === 'finance')}
<p><a class="button" href="${CONSOLE_PATH}/refunds">Back to the refunds</a></p>`,
    });
  });
}

/** The order's ledger transactions after `seq`, as the API shows them (amounts as integers of fen). */
async function transactionsSince(db: Db, orderId: string, seq: number): Promise<LedgerTxJson[]> {
  const { txs, transfers } = await ledgerTransactionsAfter(db, orderId, seq);
  return txs.map((t) => ({
    txId: t.tx_id,
    seq: Number(t.seq),
    kind: t.kind,
    occurredAt: t.occurred_at.toISOString(),
    transfers: transfers.filter((f) => f.tx_id === t.tx_id).map((f) => ({ debitAccount: f.debit_account, creditAccount: f.credit_account, amountFen: f.amount_fen })),
  }));
}
