import { isAccountId } from '../../domain/ledger/accounts';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { abortWhenClientLeaves } from '../stream-reply';
import { answerOf, consoleDownload, query, seg } from './api-client';
import { fromShanghaiLocal, html, money, time, toShanghaiLocal, type Html } from './html';
import { CONSOLE_PATH, notice, num, page, table } from './layout';
import { refusalPage, sendPage, errorPage, type ConsoleContext, type ConsoleRouter } from './respond';
import { ledgerTable, statusBadge, type LedgerTxJson } from './views';

const STATEMENT_PAGE = 50;
const MAX_STATEMENT_PAGE = 200;
const statementHref = (account: string, cursor?: string, limit?: number) =>
  `${CONSOLE_PATH}/finance/statement${query({ account, cursor, limit: limit === STATEMENT_PAGE ? undefined : limit })}`;

/** A page size from the query: 1–200, default 50. */
function pageSize(value: unknown): number {
  const n = typeof value === 'string' && /^\d{1,3}$/.test(value) ? Number(value) : STATEMENT_PAGE;
  return Math.min(Math.max(n, 1), MAX_STATEMENT_PAGE);
}
const transactionsHref = (orderId: string, txId?: string) => `${CONSOLE_PATH}/finance/transactions${query({ orderId })}${txId ? `#tx-${encodeURIComponent(txId)}` : ''}`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

function trialBalanceBody(tb: Json): Html {
  return html`${notice(tb.balanced ? 'ok' : 'error', tb.balanced ? html`Balanced: the accounts sum to ${money(tb.totalFen)} over ${tb.transactions} transactions (F2).` : html`NOT balanced: the accounts sum to ${money(tb.totalFen)}.`)}
${table(
  `Trial balance as of ledger sequence ${tb.asOfSeq}`,
  ['Account', num('Balance'), num('Debits'), num('Credits')],
  [
    ...(tb.accounts as Json[]).map(
      (a) => html`<tr><td><a href="${statementHref(a.account)}">${a.account}</a></td><td class="num">${money(a.balanceFen)}</td><td class="num">${money(a.debitsFen)}</td><td class="num">${money(a.creditsFen)}</td></tr>`,
    ),
    html`<tr class="preview-total"><td>Total</td><td class="num" data-testid="trial-total">${money(tb.totalFen)}</td><td class="num">${money(tb.totalDebitsFen)}</td><td class="num">${money(tb.totalCreditsFen)}</td></tr>`,
  ],
)}`;
}

function statementBody(st: Json, cursor: string | undefined, limit: number): Html {
  const entries = st.entries as Json[];
  return html`<div class="card"><dl class="facts"><dt>Account</dt><dd><code>${st.account}</code></dd><dt>Balance now</dt><dd data-testid="statement-balance">${money(st.balanceFen)}</dd></dl></div>
${table(
  'Statement, oldest entry first (F1)',
  ['Seq', 'When', 'Transaction', 'Order', 'Counterparty', num('In'), num('Out'), num('Running balance')],
  entries.map(
    (e) => html`<tr><td>${e.seq}</td><td>${time(e.occurredAt)}</td><td><code>${e.txId}</code> <span class="badge">${e.kind}</span></td>
<td>${e.orderId ? html`<a href="${transactionsHref(e.orderId, e.txId)}">${e.orderId}</a>` : ''}</td><td><a href="${statementHref(e.counterparty)}">${e.counterparty}</a></td>
<td class="num">${e.direction === 'credit' ? money(e.amountFen) : ''}</td><td class="num">${e.direction === 'debit' ? money(e.amountFen) : ''}</td><td class="num">${money(e.balanceAfterFen)}</td></tr>`,
  ),
  'no entries',
)}
<p class="pager">${cursor ? html`<a href="${statementHref(st.account, undefined, limit)}">← First page</a>` : ''}${st.nextCursor ? html`<a href="${statementHref(st.account, st.nextCursor, limit)}">Next page →</a>` : html`<span class="muted">end of statement</span>`}</p>`;
}

function auditBody(report: Json): Html {
  const d = report.discrepancies as Json[];
  const link = (x: Json) =>
    html`${x.orderId ? html`<a href="${transactionsHref(x.orderId)}">${x.orderKind ?? 'order'} ${x.orderId}</a>` : ''}${x.txId && x.orderId ? html` · <a href="${transactionsHref(x.orderId, x.txId)}">${x.txId}</a>` : x.txId ? html`<code>${x.txId}</code>` : ''}${x.account ? html` · <a href="${statementHref(x.account)}">${x.account}</a>` : ''}`;
  return html`${notice(report.ok ? 'ok' : 'error', report.ok ? `Clean: ${report.checkedTransactions} transactions in ${report.checkedChains} chains verified; ${report.checkedOrders} orders checked, ${report.reconciledOrders} of them closed and reconciled (${report.mode} audit).` : `${report.discrepancyCount} discrepancies found (${report.mode} audit).`)}
<div class="card"><dl class="facts">
<dt>Mode</dt><dd>${report.mode}</dd><dt>Transactions</dt><dd>${report.checkedTransactions}</dd><dt>Orders checked (E2)</dt><dd>${report.checkedOrders}</dd><dt>Closed orders reconciled (L6)</dt><dd>${report.reconciledOrders}</dd>
<dt>Workflows compared</dt><dd>${report.workflows.compared} (running ${report.workflows.running}, unavailable ${report.workflows.unavailable})${report.workflows.skipped ? ` — ${report.workflows.skipped}` : ''}</dd>
<dt>Checkpoint</dt><dd>${report.checkpoint.recorded ? `recorded #${report.checkpoint.recorded.id}` : (report.checkpoint.notRecorded ?? 'none')}</dd>
</dl></div>
${table('Discrepancies (F3)', ['Kind', 'Order · transaction · account', 'Message'], d.map((x) => html`<tr><td><code>${x.kind}</code></td><td>${link(x)}</td><td>${x.message}</td></tr>`), 'none')}`;
}

function exportForm(from: string, to: string): Html {
  return html`<form method="get" action="${CONSOLE_PATH}/finance/export.csv" class="inline">
<label>From (Asia/Shanghai)<input type="datetime-local" name="from" value="${from}" required></label>
<label>To, exclusive (Asia/Shanghai)<input type="datetime-local" name="to" value="${to}" required></label>
<button type="submit">Download CSV</button></form>
<p class="muted">One line per transfer of the transactions that occurred in [from, to) (F4): tx_id, seq, occurred_at (UTC), kind, order_id, debit_account, credit_account, amount_fen.</p>`;
}

export function registerFinancePages(router: ConsoleRouter, context: ConsoleContext): void {
  router.get(`${CONSOLE_PATH}/finance/trial-balance`, async ({ api, session }, _request, reply) => {
    const answer = await api('GET', '/v1/ledger/trial-balance');
    if (answer.status !== 200) return refusalPage(reply, session, answer, 'The trial balance');
    return page({ title: 'Trial balance', session, current: `${CONSOLE_PATH}/finance/trial-balance`, body: trialBalanceBody(answer.body) });
  });

  router.get(`${CONSOLE_PATH}/finance/statement`, async ({ api, session }, request, reply) => {
    const q = (request.query ?? {}) as { account?: string; cursor?: string; limit?: string };
    const limit = pageSize(q.limit);
    const account = q.account?.trim() ?? '';
    const form = html`<form method="get" action="${CONSOLE_PATH}/finance/statement" class="inline" role="search"><label>Account<input name="account" value="${account}" placeholder="client:c-1" required maxlength="200" size="32"></label><button type="submit">Show statement</button></form>`;
    if (!account) return page({ title: 'Account statement', session, current: `${CONSOLE_PATH}/finance/statement`, body: form });
    if (!isAccountId(account)) return sendPage(reply, 400, page({ title: 'Account statement', session, body: html`${notice('error', `${account} is not an account (client:{id}, creator:{id}, escrow:task:{id}, escrow:boost:{id}, platform:…, external:payments)`)}${form}` }));
    const answer = await api('GET', `/v1/ledger/accounts/${seg(account)}${query({ cursor: q.cursor, limit })}`);
    if (answer.status !== 200) return refusalPage(reply, session, answer, `The statement of ${account}`);
    return page({ title: `Statement of ${account}`, session, current: `${CONSOLE_PATH}/finance/statement`, body: html`${form}${statementBody(answer.body, q.cursor, limit)}` });
  });

  router.get(`${CONSOLE_PATH}/finance/transactions`, async ({ api, session }, request, reply) => {
    const { orderId } = (request.query ?? {}) as { orderId?: string };
    if (!orderId) return sendPage(reply, 400, errorPage(session, 'Which order?', 'Open this page from a statement or the audit report.'));
    const [txs, order] = [await api('GET', `/v1/ledger/transactions${query({ orderId, limit: 500 })}`), await api('GET', `/v1/task-orders/${seg(orderId)}`)];
    if (txs.status !== 200) return refusalPage(reply, session, txs, `The transactions of ${orderId}`);
    const list = (txs.body.transactions as Json[]).map((t): LedgerTxJson => ({ txId: t.txId, seq: t.seq, kind: t.kind, occurredAt: t.occurredAt, transfers: t.transfers ?? [] }));
    const o = order.status === 200 ? order.body : undefined;
    return page({
      title: `Order ${orderId}: ledger`,
      session,
      body: html`${o ? html`<div class="card"><dl class="facts"><dt>Status</dt><dd>${statusBadge(o.status)} ${o.cancelReason ?? ''}</dd><dt>Client</dt><dd>${o.clientId}</dd><dt>Creator</dt><dd>${o.creatorId}</dd><dt>Paid in</dt><dd>${money(o.paidInFen)}</dd><dt>In escrow</dt><dd>${money(o.escrowFen)}</dd></dl></div>` : ''}
${ledgerTable(`Ledger transactions of ${orderId}`, list, true)}`,
    });
  });

  router.get(`${CONSOLE_PATH}/finance/audit`, async ({ api, session }, request, reply) => {
    const { run, since } = (request.query ?? {}) as { run?: string; since?: string };
    const form = html`<form method="get" action="${CONSOLE_PATH}/finance/audit" class="inline"><input type="hidden" name="run" value="1">
<label><span><input type="checkbox" name="since" value="checkpoint"${since === 'checkpoint' ? html` checked` : ''}> only since the last clean audit (incremental)</span></label><button type="submit">Run the audit</button></form>`;
    if (run !== '1') return page({ title: 'Audit', session, current: `${CONSOLE_PATH}/finance/audit`, body: html`<p>Re-verifies the hash chains, double entry, client balances, read models and L6 for every closed order (F3).</p>${form}` });
    const answer = await api('GET', `/v1/ledger/audit${since === 'checkpoint' ? '?sinceCheckpoint=true' : ''}`);
    if (answer.status !== 200) return refusalPage(reply, session, answer, 'The audit');
    return page({ title: 'Audit', session, current: `${CONSOLE_PATH}/finance/audit`, body: html`${form}${auditBody(answer.body)}` });
  });

  router.get(`${CONSOLE_PATH}/finance/export`, async ({ session }) => {
    const now = new Date();
    const from = toShanghaiLocal(new Date(now.getTime() - 30 * 86_400_000).toISOString());
    return page({ title: 'CSV export', session, current: `${CONSOLE_PATH}/finance/export`, body: exportForm(from, toShanghaiLocal(new Date(now.getTime() + 3600_000).toISOString())) });
  });

  // F4 streamed through (issue 18): the API's CSV is piped on as it comes, never held whole here.
  router.get(`${CONSOLE_PATH}/finance/export.csv`, async ({ session }, request, reply) => {
    const q = (request.query ?? {}) as { from?: string; to?: string };
    const from = q.from ? fromShanghaiLocal(q.from) : undefined;
    const to = q.to ? fromShanghaiLocal(q.to) : undefined;
    if (!from || !to) return sendPage(reply, 400, errorPage(session, 'Which range?', 'Give a from and a to time.'));
    const browser = abortWhenClientLeaves(reply);
    const response = await consoleDownload(context.app, session, `/v1/ledger/export.csv${query({ from, to })}`, browser.signal);
    if (response.status !== 200 || !response.body) return refusalPage(reply, session, answerOf(response, await response.text()), 'The export');
    const retryAfter = response.headers.get('retry-after');
    if (retryAfter) void reply.header('retry-after', retryAfter);
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', response.headers.get('content-disposition') ?? 'attachment; filename="ledger.csv"')
      .send(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>));
  });
}
