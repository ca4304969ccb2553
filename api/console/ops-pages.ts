import type { FastifyRequest } from 'fastify';
import { TASK_STATUSES } from '../../domain/task-order/types';
import type { z } from 'zod';
import type { StuckReason } from '../ops-service';
import type { StuckListView } from '../ops-routes';
import { query, seg, type ApiAnswer } from './api-client';
import { duration, html, money, time, type Html } from './html';
import { CONSOLE_PATH, notice, num, page, table } from './layout';
import { checkoutPath, registerCheckoutPages } from './checkout-page';
import { registerOrderPages } from './order-page';
import { refusalPage, type ConsoleContext, type ConsoleRouter, type Signed } from './respond';
import { statusBadge } from './views';

/** O1's reasons, in words (a new reason in ops-service.ts fails the typecheck until it is named here). */
export const REASON_LABELS: Record<StuckReason, string> = {
  deadline_overdue: 'Deadline overdue',
  activity_retrying: 'Activity retrying',
  workflow_task_failing: 'Workflow task failing',
  awaiting_arbitration: 'Awaiting arbitration',
  publish_overdue: 'Publish overdue',
  refund_overdue: 'Refund overdue',
  calendar_missing: 'Calendar missing',
  awaiting_stats: 'Awaiting stats',
  webhook_failing: 'Webhook failing',
};

/** A stuck entry as GET /v1/ops/stuck answers it. */
type StuckEntry = z.output<typeof StuckListView>['entries'][number];

/** How often the stuck list refreshes itself. */
const STUCK_REFRESH_SECONDS = 10;

interface StuckFilter {
  readonly reason?: StuckReason | undefined;
  readonly kind?: StuckKind | undefined;
}

function stuckFilter(request: FastifyRequest): StuckFilter {
  const q = (request.query ?? {}) as Record<string, unknown>;
  const reason = typeof q.reason === 'string' && q.reason in REASON_LABELS ? (q.reason as StuckReason) : undefined;
  const kind = typeof q.kind === 'string' && q.kind in KIND_LABELS ? (q.kind as StuckKind) : undefined;
  return { reason, kind };
}

type StuckKind = StuckEntry['kind'];
const KIND_LABELS: Record<StuckKind, string> = { task: 'task orders', boost: 'boost orders', checkout: 'checkouts', webhook_endpoint: 'webhook endpoints' };

/** The console page of a stuck entry's subject (a webhook endpoint has none: its id is shown). */
export function orderHref(entry: { kind: StuckKind; orderId: string }): string | undefined {
  switch (entry.kind) {
    case 'task':
      return `${CONSOLE_PATH}/ops/orders/${seg(entry.orderId)}`;
    case 'boost':
      return `${CONSOLE_PATH}/ops/boost-orders/${seg(entry.orderId)}`;
    case 'checkout':
      return checkoutPath(entry.orderId);
    case 'webhook_endpoint':
      return undefined;
    default: {
      const _exhaustive: never = entry.kind;
      return _exhaustive;
    }
  }
}

function subject(entry: StuckEntry): Html {
  const href = orderHref(entry);
  return href ? html`<a href="${href}">${entry.orderId}</a>` : html`<code>${entry.orderId}</code>`;
}

function stuckRows(entries: readonly StuckEntry[], generatedAt: string): Html[] {
  const now = Date.parse(generatedAt);
  return entries.map(
    (e) => html`<tr>
<td><span class="badge bad">${REASON_LABELS[e.reason]}</span></td>
<td>${e.stuckSinceAt ? html`<span class="age" title="since ${e.stuckSinceAt}">${duration(now - Date.parse(e.stuckSinceAt))}</span>` : html`<span class="muted">—</span>`}</td>
<td>${subject(e)}</td>
<td>${e.kind}</td><td>${statusBadge(e.status)}</td>
<td>${e.detail}${e.lastFailure ? html`<br><span class="muted">last failure: ${e.lastFailure}</span>` : ''}</td></tr>`,
  );
}

/** The page of the list the console shows (the API's cursor, passed through; none: the first page). */
function stuckCursor(request: FastifyRequest): string | undefined {
  const { cursor } = (request.query ?? {}) as Record<string, unknown>;
  return typeof cursor === 'string' && cursor.length > 0 && cursor.length <= 512 ? cursor : undefined;
}

async function stuckTable({ api }: Signed, request: FastifyRequest): Promise<{ answer: ApiAnswer; body: Html }> {
  const cursor = stuckCursor(request);
  const answer = await api('GET', `/v1/ops/stuck${query({ cursor })}`);
  if (answer.status !== 200) return { answer, body: html`` };
  const filter = stuckFilter(request);
  const all = answer.body.entries as StuckEntry[];
  const entries = all.filter((e) => (!filter.reason || e.reason === filter.reason) && (!filter.kind || e.kind === filter.kind));
  const next = answer.body.nextCursor as string | null;
  const pageLink = (c: string | undefined, label: string) => html`<a href="${CONSOLE_PATH}/ops/stuck${query({ reason: filter.reason, kind: filter.kind, cursor: c })}">${label}</a>`;
  const body = html`<p class="muted" aria-live="polite">${entries.length} of ${all.length} entries on this page, ${answer.body.total} in all · as of ${time(answer.body.generatedAt as string)} · refreshes every ${STUCK_REFRESH_SECONDS} s</p>
${answer.body.truncated ? notice('error', 'The list reached its bound (10,000 open workflows or orders of a kind): there may be more stuck orders than listed; use Temporal\'s UI to look further.') : ''}
${table('Stuck orders (O1)', ['Reason', 'Age', 'Order', 'Kind', 'Status', 'Detail'], stuckRows(entries, answer.body.generatedAt as string), 'nothing is stuck')}
<p class="pager">${cursor ? pageLink(undefined, '← First page') : ''}${next ? pageLink(next, 'Next page →') : html`<span class="muted">end of the list</span>`}</p>`;
  return { answer, body };
}

function filterForm(filter: StuckFilter): Html {
  const option = (value: string, label: string, selected: boolean) => html`<option value="${value}"${selected ? html` selected` : ''}>${label}</option>`;
  return html`<form method="get" action="${CONSOLE_PATH}/ops/stuck" class="inline" role="search">
<label>Reason<select name="reason">${option('', 'all reasons', !filter.reason)}${Object.entries(REASON_LABELS).map(([r, l]) => option(r, l, filter.reason === r))}</select></label>
<label>Kind<select name="kind">${option('', 'all kinds', !filter.kind)}${Object.entries(KIND_LABELS).map(([k, l]) => option(k, l, filter.kind === k))}</select></label>
<button type="submit">Filter</button>
</form>`;
}

/** A task order as GET /v1/task-orders lists it (its amount a bigint: api-client.ts amountsAsBigint). */
export interface FoundOrder {
  readonly orderId: string;
  readonly title: string;
  readonly clientId: string;
  readonly priceFen: bigint;
  readonly createdAt: string;
  readonly status: string;
}

/** The search's results. */
export function foundOrdersTable(orders: readonly FoundOrder[]): Html {
  return table(
    'Task orders, oldest first',
    ['Order', 'Title', 'Client', num('Price'), 'Placed', 'Status'],
    orders.map((o) => html`<tr><td><a href="${CONSOLE_PATH}/ops/orders/${seg(o.orderId)}">${o.orderId}</a></td><td>${o.title}</td><td>${o.clientId}</td><td class="num">${money(o.priceFen)}</td><td>${time(o.createdAt)}</td><td>${statusBadge(o.status)}</td></tr>`),
    'no order matches',
  );
}

function searchForm(q: Record<string, string | undefined>): Html {
  return html`<form method="get" action="${CONSOLE_PATH}/ops/orders" class="inline" role="search">
<label>Order id<input name="orderId" value="${q.orderId ?? ''}" maxlength="64"></label>
<label>Checkout id<input name="checkoutId" value="${q.checkoutId ?? ''}" maxlength="64"></label>
<label>Client<input name="clientId" value="${q.clientId ?? ''}" maxlength="64"></label>
<label>Creator<input name="creatorId" value="${q.creatorId ?? ''}" maxlength="64"></label>
<label>Status<select name="status"><option value="">any</option>${TASK_STATUSES.map((s) => html`<option${q.status === s ? html` selected` : ''}>${s}</option>`)}</select></label>
<button type="submit">Search</button>
</form>`;
}

export function registerOpsPages(router: ConsoleRouter, context: ConsoleContext): void {
  router.get(`${CONSOLE_PATH}/ops/stuck`, async (signed, request, reply) => {
    const rows = await stuckTable(signed, request);
    if (rows.answer.status !== 200) return refusalPage(reply, signed.session, rows.answer, 'The stuck list');
    const filter = stuckFilter(request);
    const fragment = `${CONSOLE_PATH}/ops/stuck/rows${query({ reason: filter.reason, kind: filter.kind, cursor: stuckCursor(request) })}`;
    return page({
      title: 'Stuck orders',
      session: signed.session,
      current: `${CONSOLE_PATH}/ops/stuck`,
      body: html`${filterForm(filter)}<div id="stuck" hx-get="${fragment}" hx-trigger="every ${STUCK_REFRESH_SECONDS}s" hx-swap="innerHTML">${rows.body}</div>`,
    });
  });

  // The list's own rows, for htmx's periodic refresh.
  router.get(`${CONSOLE_PATH}/ops/stuck/rows`, async (signed, request, reply) => {
    const rows = await stuckTable(signed, request);
    return reply.code(rows.answer.status === 200 ? 200 : 286).type('text/html; charset=utf-8').send(rows.body.value); // 286: htmx stops polling
  });

  router.get(`${CONSOLE_PATH}/ops/orders`, async (signed, request, reply) => {
    const raw = (request.query ?? {}) as Record<string, string | undefined>;
    const q = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, typeof v === 'string' ? v.trim() : undefined]));
    if (q.orderId) return reply.redirect(`${CONSOLE_PATH}/ops/orders/${seg(q.orderId)}`, 303);
    if (q.checkoutId) return reply.redirect(checkoutPath(q.checkoutId), 303); // C5: a checkout has its own page
    const searched = q.clientId || q.creatorId || q.status;
    let results: Html = html``;
    if (searched) {
      const answer = await signed.api('GET', `/v1/task-orders${query({ clientId: q.clientId, creatorId: q.creatorId, status: q.status, cursor: q.cursor, limit: 50 })}`);
      if (answer.status !== 200) return refusalPage(reply, signed.session, answer, 'The search');
      const orders = answer.body.orders as FoundOrder[];
      const next = answer.body.nextCursor as string | null;
      results = html`${foundOrdersTable(orders)}${next ? html`<p class="pager"><a href="${CONSOLE_PATH}/ops/orders${query({ clientId: q.clientId, creatorId: q.creatorId, status: q.status, cursor: next })}">Next page →</a></p>` : ''}`;
    }
    return page({ title: 'Search orders', session: signed.session, current: `${CONSOLE_PATH}/ops/orders`, body: html`${searchForm(q)}${results}` });
  });

  registerOrderPages(router, context);
  registerCheckoutPages(router, context);
}
