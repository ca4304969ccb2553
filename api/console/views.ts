import { ORDER_KIND_DEFINITIONS } from '../../domain/kinds';
import type { AccountChange } from '../../domain/ledger/preview';
import { ORDER_KINDS } from '../../domain/order-kind';
import { stringifyExact } from '../../platform/exact-json';
import type { TemporalDescriptionJson } from '../ops-service';
import { duration, html, money, time, type Html } from './html';
import { num, table } from './layout';

/** Shared pieces of the ops and finance pages, rendered from the API's JSON. */

export interface DeadlineJson {
  readonly kind: string;
  readonly at: string;
  readonly consequence: string;
}

export function countdown(at: string, serverNowMs: number): Html {
  const left = Date.parse(at) - serverNowMs;
  if (Number.isNaN(left)) return html`<span class="muted">—</span>`;
  return html`<span class="countdown" data-countdown-to="${at}" data-server-now="${serverNowMs}">${left < 0 ? `overdue by ${duration(left)}` : `in ${duration(left)}`}</span>`;
}

export function deadlinesTable(deadlines: readonly DeadlineJson[], serverNowMs: number): Html {
  return table(
    'Pending deadlines',
    ['Deadline', 'Due (Asia/Shanghai)', 'Countdown', 'What happens then'],
    deadlines.map((d) => html`<tr><td><code>${d.kind}</code></td><td>${time(d.at)}</td><td>${countdown(d.at, serverNowMs)}</td><td>${d.consequence}</td></tr>`),
    'no pending deadline',
  );
}

interface EventJson {
  readonly version: number;
  readonly type: string;
  readonly occurredAt: string;
  readonly payload: Record<string, unknown>;
}

/** Who did it and why (T23), when the event says. */
function attribution(payload: Record<string, unknown>): Html {
  const by = payload.by as { type?: string; id?: string } | undefined;
  const actor = (payload.actor as { type?: string; id?: string } | undefined) ?? by;
  const reason = (payload.reason ?? payload.note) as string | undefined;
  return html`${actor?.type ? html`<span class="badge">${actor.type}${actor.id ? `: ${actor.id}` : ''}</span> ` : ''}${reason ?? ''}`;
}

export function eventsTable(events: readonly EventJson[]): Html {
  return table(
    'Timeline (order events, E1)',
    ['#', 'When', 'Event', 'Who · reason', 'Payload'],
    events.map(
      (e) => html`<tr><td>${e.version}</td><td>${time(e.occurredAt)}</td><td><code>${e.type}</code></td><td>${attribution(e.payload)}</td>
<td><details><summary>payload</summary><pre class="json">${stringifyExact(e.payload, 2)}</pre></details></td></tr>`,
    ),
    'no events',
  );
}

export interface LedgerTxJson {
  readonly txId: string;
  readonly seq: number;
  readonly kind: string;
  readonly occurredAt: string;
  readonly transfers: ReadonlyArray<{ readonly debitAccount: string; readonly creditAccount: string; readonly amountFen: bigint }>;
}

/** Transactions with their transfers; account names link to their statements when `statementLinks`. */
export function ledgerTable(caption: string, transactions: readonly LedgerTxJson[], statementLinks: boolean): Html {
  const account = (a: string) => (statementLinks ? html`<a href="/console/finance/statement?account=${encodeURIComponent(a)}">${a}</a>` : html`<code>${a}</code>`);
  return table(
    caption,
    ['Seq', 'When', 'Transaction', 'From (debit)', 'To (credit)', num('Amount')],
    transactions.flatMap((t) =>
      t.transfers.map(
        (f, i) => html`<tr${i === 0 ? html` id="tx-${t.txId}"` : ''}><td>${i === 0 ? t.seq : ''}</td><td>${i === 0 ? time(t.occurredAt) : ''}</td>
<td>${i === 0 ? html`<code>${t.txId}</code> <span class="badge">${t.kind}</span>` : ''}</td><td>${account(f.debitAccount)}</td><td>${account(f.creditAccount)}</td><td class="num">${money(f.amountFen)}</td></tr>`,
      ),
    ),
    'no ledger transactions',
  );
}

/** What every account receives (or gives) — a preview or a posted result. */
export function changesTable(caption: string, changes: readonly AccountChange[]): Html {
  return table(
    caption,
    ['Account', num('Receives'), num('Gives')],
    changes.map(
      (c) => html`<tr><td><code>${c.account}</code></td><td class="num">${c.changeFen > 0n ? money(c.changeFen) : ''}</td><td class="num">${c.changeFen < 0n ? money(-c.changeFen) : ''}</td></tr>`,
    ),
    'no money moves',
  );
}

/** Net change per account of the API's transactions (the same arithmetic as domain/ledger/preview.ts netChanges). */
export function changesOf(transactions: readonly LedgerTxJson[]): AccountChange[] {
  const net = new Map<string, bigint>();
  for (const t of transactions) {
    for (const f of t.transfers) {
      net.set(f.debitAccount, (net.get(f.debitAccount) ?? 0n) - f.amountFen);
      net.set(f.creditAccount, (net.get(f.creditAccount) ?? 0n) + f.amountFen);
    }
  }
  return [...net].filter(([, v]) => v !== 0n).map(([account, changeFen]) => ({ account, changeFen }));
}

export function temporalCard(temporal: TemporalDescriptionJson | null, workflowId: string, uiUrl: string, namespace: string): Html {
  const link = `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  if (!temporal) return html`<div class="card"><p class="muted">Temporal has no workflow <code>${workflowId}</code> (closed and past retention?).</p></div>`;
  return html`<div class="card">
<dl class="facts">
<dt>Workflow</dt><dd><a href="${link}" target="_blank" rel="noopener">${temporal.workflowId}</a> (open in the Temporal UI)</dd>
<dt>Status</dt><dd>${temporal.status}</dd>
<dt>Run</dt><dd><code>${temporal.runId}</code></dd>
<dt>History</dt><dd>${temporal.historyLength} events</dd>
<dt>Started</dt><dd>${time(temporal.startedAt)}</dd>
<dt>Closed</dt><dd>${time(temporal.closedAt)}</dd>
<dt>Workflow task</dt><dd>${temporal.pendingWorkflowTask ? `pending, attempt ${temporal.pendingWorkflowTask.attempt}` : 'none pending'}</dd>
</dl>
${table(
  'Pending activities',
  ['Activity', 'Attempt', 'Last failure', 'Scheduled'],
  temporal.pendingActivities.map((a) => html`<tr><td>${a.activityType ?? '?'}</td><td>${a.attempt}</td><td>${a.lastFailure ?? ''}</td><td>${time(a.scheduledAt)}</td></tr>`),
  'none',
)}
</div>`;
}

export function statusBadge(status: string | null | undefined): Html {
  if (status == null) return html`<span class="muted">—</span>`; // a webhook endpoint's entry has none
  const closed = ORDER_KINDS.some((kind) => (ORDER_KIND_DEFINITIONS[kind].closedStatuses as readonly string[]).includes(status));
  const ended = status === 'cancelled' || status === 'failed'; // an order cancelled, a checkout refused (C3): closed, not done
  const kind = ended ? 'bad' : closed ? 'good' : 'warn';
  return html`<span class="badge ${kind}">${status}</span>`;
}
