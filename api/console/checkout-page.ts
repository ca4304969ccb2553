import type { z } from 'zod';
import { checkoutWorkflowId } from '../../domain/checkout/ids';
import type { CheckoutInspectionView } from '../ops-routes';
import { seg } from './api-client';
import { html, money, time, type Html } from './html';
import { CONSOLE_PATH, notice, num, page, table } from './layout';
import { refusalPage, type ConsoleContext, type ConsoleRouter } from './respond';
import { eventsTable, ledgerTable, statusBadge, temporalCard, type LedgerTxJson } from './views';

/**
 * C5: the console shows a checkout with its orders — its money, each line with links to its task
 * order's and boost order's pages and their statuses now, the checkout's own events, its payment
 * and Temporal's description. Everything comes from GET /v1/ops/checkouts/{id} (ops only: the
 * API's role check decides, a finance session gets its 403 page).
 */

/** An inspection as the API answers it, amounts as bigint (api-client.ts amountsAsBigint). */
type Inspection = Omit<z.output<typeof CheckoutInspectionView>, 'checkout' | 'ledger'> & { checkout: CheckoutJson; ledger: LedgerTxJson[] };
type CheckoutJson = Omit<z.output<typeof CheckoutInspectionView>['checkout'], 'totalFen' | 'escrowFen' | 'lines'> & {
  totalFen: bigint;
  escrowFen: bigint;
  lines: ReadonlyArray<LineJson>;
};
type LineJson = Omit<z.output<typeof CheckoutInspectionView>['checkout']['lines'][number], 'priceFen' | 'lineTotalFen' | 'boost'> & {
  priceFen: bigint;
  lineTotalFen: bigint | null;
  boost: { boostOrderId: string; quoteId: string; boostFeeFen: bigint | null; boostPlaced: boolean } | null;
};
type LineOrders = Inspection['orders'][number];

export const checkoutPath = (checkoutId: string) => `${CONSOLE_PATH}/ops/checkouts/${seg(checkoutId)}`;
const taskPath = (orderId: string) => `${CONSOLE_PATH}/ops/orders/${seg(orderId)}`;
const boostPath = (boostOrderId: string) => `${CONSOLE_PATH}/ops/boost-orders/${seg(boostOrderId)}`;

/** A link to the checkout that placed an order, for its task or boost page (nothing when none did). */
export function checkoutLink(checkoutId: unknown): Html {
  return typeof checkoutId === 'string' ? html`<dt>Checkout</dt><dd><a href="${checkoutPath(checkoutId)}">${checkoutId}</a></dd>` : html``;
}

function facts(c: CheckoutJson): Html {
  const failure = c.failure;
  return html`<div class="grid">
<div class="card"><dl class="facts">
<dt>Status</dt><dd>${statusBadge(c.status)}</dd>
<dt>Client</dt><dd>${c.clientId}</dd>
<dt>Payment mode</dt><dd>${c.paymentMode}</dd>
<dt>Lines</dt><dd>${c.lines.length}</dd>
<dt>Placed</dt><dd>${time(c.createdAt)}</dd><dt>Completed</dt><dd>${time(c.completedAt)}</dd>
</dl></div>
<div class="card"><dl class="facts">
<dt>Total</dt><dd>${money(c.totalFen)}</dd>
<dt>In escrow</dt><dd>${money(c.escrowFen)} <span class="muted">(zero once every line is placed, C4)</span></dd>
<dt>Refusal</dt><dd>${failure ? html`<code>${failure.code}</code>${failure.lineIndex === null ? ' (the whole checkout)' : ` at line ${failure.lineIndex + 1}`}: ${failure.message}` : html`<span class="muted">none</span>`}</dd>
</dl></div>
</div>`;
}

/** One line: its creator and money, its task order and boost order linked with their statuses now. */
function lineRow(line: LineJson, orders: LineOrders | undefined): Html {
  const placed = (status: string | null | undefined, id: string, href: string) => (status ? html`<a href="${href}">${id}</a> ${statusBadge(status)}` : html`<code>${id}</code> <span class="muted">not placed</span>`);
  const boost = line.boost
    ? html`${placed(orders?.boostStatus, line.boost.boostOrderId, boostPath(line.boost.boostOrderId))}<br><span class="muted">fee</span> ${money(line.boost.boostFeeFen)}`
    : html`<span class="muted">no boost</span>`;
  return html`<tr><td>${line.lineIndex + 1}</td><td>${line.creatorId}</td><td>${line.taskType}</td>
<td class="num">${money(line.priceFen)}</td><td class="num">${money(line.lineTotalFen)}</td>
<td>${placed(orders?.orderStatus, line.orderId, taskPath(line.orderId))}</td><td>${boost}</td></tr>`;
}

function linesTable(inspection: Inspection): Html {
  const byLine = new Map(inspection.orders.map((o) => [o.lineIndex, o]));
  return table(
    'Lines: one task order each, some boosted (C1)',
    ['#', 'Creator', 'Task type', num('Price'), num('Line total'), 'Task order', 'Boost order'],
    inspection.checkout.lines.map((line) => lineRow(line, byLine.get(line.lineIndex))),
    'no lines',
  );
}

function checkoutBody(inspection: Inspection, context: ConsoleContext): Html {
  const c = inspection.checkout;
  const failed = c.status === 'failed' ? notice('info', 'Refused: nothing was placed and nothing was paid (C3). The lines below are the request as sent.') : '';
  return html`${failed}${facts(c)}
<h2>Lines</h2>${linesTable(inspection)}
<h2>Timeline</h2>${eventsTable(inspection.events)}
<h2>Ledger</h2>${ledgerTable("The checkout's payment (each line's placement is on its order's page)", inspection.ledger, false)}
<h2>Temporal</h2>${temporalCard(inspection.temporal, checkoutWorkflowId(c.checkoutId), context.temporalUiUrl, context.namespace)}`;
}

export function registerCheckoutPages(router: ConsoleRouter, context: ConsoleContext): void {
  router.get(`${CONSOLE_PATH}/ops/checkouts/:checkoutId`, async ({ api, session }, request, reply) => {
    const { checkoutId } = request.params as { checkoutId: string };
    const answer = await api('GET', `/v1/ops/checkouts/${seg(checkoutId)}`);
    if (answer.status !== 200) return refusalPage(reply, session, answer, `Checkout ${checkoutId}`);
    return page({ title: `Checkout ${checkoutId}`, session, body: checkoutBody(answer.body as Inspection, context) });
  });
}
