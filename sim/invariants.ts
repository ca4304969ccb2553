/**
 * The run's global invariants (SPEC §10 "Proof"), checked after quiescence against the API, the
 * database (as its owner, read only) and the exchanges recorded during the run. Each returns its
 * violations and a few counts for the report line; none changes anything.
 */
import { setImmediate } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import pg from 'pg';
import type { FaultRecord } from './faults';
import type { UnexpectedExit } from './stack';
import type { Exchange, LifecycleRecord, SimHttp, Violation } from './types';
import type { Arrival } from './webhook-receiver';

export interface InvariantResult {
  readonly name: string;
  readonly violations: readonly Violation[];
  /** What was checked, for the report line. */
  readonly counts: string;
}

const MAX_VIOLATIONS_PER_INVARIANT = 200;

const violation = (invariant: string, message: string, orderId?: string): Violation => ({ invariant, message, ...(orderId === undefined ? {} : { orderId }) });

function capped(list: Violation[]): Violation[] {
  if (list.length <= MAX_VIOLATIONS_PER_INVARIANT) return list;
  const first = list[0] as Violation;
  return [...list.slice(0, MAX_VIOLATIONS_PER_INVARIANT), violation(first.invariant, `… and ${list.length - MAX_VIOLATIONS_PER_INVARIANT} more`)];
}

/** A read-only view of the application database as its owner (never the app's role, never `sim-…`). */
export function checksPool(ownerDatabaseUrl: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: ownerDatabaseUrl, max: 2, application_name: 'checks', connectionTimeoutMillis: 10_000 });
  pool.on('error', () => undefined);
  return pool;
}

// ── model ────────────────────────────────────────────────────────────────────────────────────

export async function checkModel(
  records: readonly LifecycleRecord[],
  http: SimHttp,
  checkLifecycle: (record: LifecycleRecord, http: SimHttp) => Promise<Violation[]>,
): Promise<InvariantResult> {
  const found: Violation[] = [];
  let orders = 0;
  for (const record of records) {
    orders += record.taskOrderIds.length + record.boostOrderIds.length;
    // A lifecycle's replay runs without a break: a turn of the event loop before the next one's
    // reads lets a socket the API closed meanwhile be seen closed, not reused (seed 7771: l242's
    // replay blocked for 140 s, past the API's 72 s keep-alive, and l243's first GET met a dead
    // socket, UND_ERR_SOCKET).
    await setImmediate();
    try {
      found.push(...(await checkLifecycle(record, http)));
    } catch (error) {
      found.push(violation('model', `checkLifecycle(${record.label}) threw: ${error instanceof Error ? error.stack ?? error.message : String(error)}`));
    }
  }
  return { name: 'model', violations: capped(found), counts: `${records.length} lifecycles, ${orders} orders` };
}

// ── stuck ────────────────────────────────────────────────────────────────────────────────────

interface StuckEntry {
  readonly orderId: string;
  readonly kind: string;
  readonly reason: string;
  readonly detail?: string;
  readonly lastFailure?: string;
}

export async function checkStuck(records: readonly LifecycleRecord[], http: SimHttp): Promise<InvariantResult> {
  const name = 'stuck';
  // O1 is paged (issue 18): every page, following nextCursor (bounded, in case a cursor repeated).
  const entries: StuckEntry[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 100; page += 1) {
    const answer = await http.call('GET', `/v1/ops/stuck?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, undefined, { role: 'ops' });
    if (answer.status !== 200) return { name, violations: [violation(name, `GET /v1/ops/stuck answered ${answer.status}: ${short(answer.response)}`)], counts: 'no list' };
    const body = answer.response as { entries?: StuckEntry[]; nextCursor?: string | null };
    entries.push(...(body.entries ?? []));
    cursor = body.nextCursor ?? null;
    if (!cursor) break;
  }
  const owner = new Map<string, LifecycleRecord>();
  for (const record of records) for (const id of [...record.taskOrderIds, ...record.boostOrderIds]) owner.set(id, record);
  const found: Violation[] = [];
  let expected = 0;
  for (const entry of entries) {
    const record = owner.get(entry.orderId);
    // sim/types.ts LifecycleRecord.expectedStuck: any other entry of the lifecycle's orders is a finding.
    const allowed = (record?.expectedStuck ?? []).filter((e) => e.orderId === entry.orderId).flatMap((e) => e.reasons);
    if (allowed.includes(entry.reason)) {
      expected += 1;
      continue;
    }
    const why = record ? `its model expects ${allowed.length ? allowed.join(', ') : 'no stuck entry'}` : 'no lifecycle owns this order';
    found.push(violation(name, `${entry.kind} order on the stuck list: ${entry.reason} (${entry.lastFailure ?? entry.detail ?? ''}); ${why}`, entry.orderId));
  }
  // The other way: an entry every possible state of the model implies must be on the list (O1).
  const listed = new Set(entries.map((e) => `${e.orderId}\u0000${e.reason}`));
  let required = 0;
  for (const record of records) {
    for (const e of record.expectedStuck ?? []) {
      for (const reason of e.required ?? []) {
        required += 1;
        if (!listed.has(`${e.orderId}\u0000${reason}`)) found.push(violation(name, `missing from the stuck list: ${reason}, which every possible state of ${record.label}'s model implies`, e.orderId));
      }
    }
  }
  return { name, violations: capped(found), counts: `${entries.length} entries, ${expected} expected by the model, ${required} required by it` };
}

// ── ledger exactly once ──────────────────────────────────────────────────────────────────────

/** Each ledger kind and the event that posts it (domain/task-order/ledger.ts, domain/boost/ledger.ts). */
const KIND_OF_EVENT: Record<string, { kind: string; amount: (payload: Record<string, unknown>) => bigint }> = {
  TaskOrderPlaced: { kind: 'placement_payment', amount: (p) => fen(p.paidFen) },
  BalancePaid: { kind: 'balance_payment', amount: (p) => fen(p.amountFen) },
  TaskOrderCancelled: { kind: 'cancellation_settlement', amount: (p) => fen(p.refundFen) + fen(p.creatorFen) + fen(p.serviceFeeFen) + fen(p.forfeitedFen) },
  TaskOrderCompleted: { kind: 'completion_settlement', amount: (p) => fen(p.creatorFen) + fen(p.serviceFeeFen) },
  BoostOrdered: { kind: 'boost_payment', amount: (p) => fen(p.boostFeeFen) },
  BoostEvaluated: { kind: 'boost_premium', amount: (p) => fen(p.platformKeepsFen) },
  RefundPosted: { kind: 'boost_refund', amount: (p) => fen(p.amountFen) },
  CheckoutPaid: { kind: 'checkout_payment', amount: (p) => fen((p.terms as Record<string, unknown> | undefined)?.totalFen) },
};
/** The order kinds whose stream id is `{kind}:{id}` (a task order's stream id is its bare id). */
const PREFIXED_STREAMS = ['boost', 'checkout'] as const;
const streamOf = (kindOfOrder: string, id: string): string => (kindOfOrder === 'task' ? id : `${kindOfOrder}:${id}`);
function parseStream(stream: string): { kindOfOrder: string; id: string } {
  const kindOfOrder = PREFIXED_STREAMS.find((k) => stream.startsWith(`${k}:`));
  return kindOfOrder ? { kindOfOrder, id: stream.slice(kindOfOrder.length + 1) } : { kindOfOrder: 'task', id: stream };
}
/**
 * The money an event moves (the amount its ledger posting carries), or undefined for an event that
 * posts nothing; an amount the check cannot read throws (a renamed field is a violation, never 0).
 */
export function eventAmount(type: string, payload: Record<string, unknown>): bigint | undefined {
  return KIND_OF_EVENT[type]?.amount(payload);
}
const EVENT_OF_KIND = Object.fromEntries(Object.entries(KIND_OF_EVENT).map(([event, { kind }]) => [kind, event]));

export async function checkLedger(pool: pg.Pool, http: SimHttp, exchanges: readonly Exchange[]): Promise<InvariantResult> {
  const name = 'ledger exactly once';
  const found: Violation[] = [];
  const add = (message: string, orderId?: string) => found.push(violation(name, message, orderId));

  const { rows: txs } = await pool.query<{ tx_id: string; kind: string; order_id: string | null; amount: string }>(
    `select t.tx_id, t.kind, t.order_id, coalesce(sum(r.amount_fen), 0)::text as amount
       from ledger_transactions t left join ledger_transfers r on r.tx_id = t.tx_id group by t.tx_id, t.kind, t.order_id`,
  );
  const txIds = new Map<string, number>();
  for (const tx of txs) txIds.set(tx.tx_id, (txIds.get(tx.tx_id) ?? 0) + 1);
  for (const [txId, n] of txIds) if (n > 1) add(`transaction ${txId} is stored ${n} times`);

  // One posting of each kind per order (a settlement, cancellation or completion, at most once).
  const perOrder = new Map<string, number>();
  for (const tx of txs) {
    if (!tx.order_id || !EVENT_OF_KIND[tx.kind]) continue;
    const key = `${tx.order_id}\u0000${tx.kind.endsWith('_settlement') ? 'settlement' : tx.kind}`;
    perOrder.set(key, (perOrder.get(key) ?? 0) + 1);
  }
  for (const [key, n] of perOrder) {
    if (n > 1) {
      const [orderId, kind] = key.split('\u0000') as [string, string];
      add(`${n} ${kind} postings for one order`, orderId);
    }
  }

  // Every order posting belongs to the event it is derived from (L3), and every event that moves money has its posting.
  const { rows: events } = await pool.query<{ order_id: string; version: number; type: string; payload: Record<string, unknown> }>(
    `select order_id, version, type, payload from order_events where type = any($1)`,
    [Object.keys(KIND_OF_EVENT)],
  );
  const eventAt = new Map(events.map((e) => [`${e.order_id}@${e.version}`, e]));
  for (const tx of txs) {
    const m = /^(task|boost|checkout):(.+):v(\d+):([a-z_]+)$/.exec(tx.tx_id);
    if (!m) continue; // top-ups and others: not an order's posting
    const [, kindOfOrder, id, version, kind] = m as unknown as [string, string, string, string, string];
    const stream = streamOf(kindOfOrder, id);
    const event = eventAt.get(`${stream}@${version}`);
    if (!event) add(`posting ${tx.tx_id} has no event at version ${version}`, id);
    else if (EVENT_OF_KIND[kind] !== event.type) add(`posting ${tx.tx_id} (${kind}) sits on a ${event.type} event`, id);
  }
  let postings = 0;
  for (const event of events) {
    const spec = KIND_OF_EVENT[event.type];
    if (!spec) continue;
    const { kindOfOrder, id } = parseStream(event.order_id);
    const txId = `${kindOfOrder}:${id}:v${event.version}:${spec.kind}`;
    let amount: bigint;
    try {
      amount = eventAmount(event.type, event.payload) ?? 0n;
    } catch (error) {
      // An amount the check cannot read (a renamed field, a float) would otherwise read as "no money moved".
      add(`${event.type} (v${event.version}): ${error instanceof Error ? error.message : String(error)}`, id);
      continue;
    }
    if (txIds.has(txId)) postings += 1;
    else if (amount > 0n) add(`${event.type} (v${event.version}) moved money but ${txId} is not in the ledger`, id);
  }

  // Every top-up the API confirmed is credited exactly once, with its amount.
  const amounts = new Map(txs.map((tx) => [tx.tx_id, BigInt(tx.amount)]));
  let topUps = 0;
  for (const exchange of exchanges) {
    const m = /^\/v1\/clients\/([^/]+)\/top-ups$/.exec(exchange.path);
    if (!m || exchange.method !== 'POST' || (exchange.status !== 200 && exchange.status !== 201)) continue;
    const body = exchange.body as { paymentRef?: string; amountFen?: number } | undefined;
    if (!body?.paymentRef) continue;
    topUps += 1;
    const amount = amounts.get(`topup:${body.paymentRef}`);
    if (amount === undefined) add(`top-up ${body.paymentRef} was confirmed (${exchange.status}) but is not in the ledger`);
    else if (amount !== BigInt(body.amountFen ?? -1)) add(`top-up ${body.paymentRef} is in the ledger with ${amount} fen, confirmed with ${String(body.amountFen)}`);
  }

  // F2: the trial balance sums to zero, over every transaction.
  const balance = await http.call('GET', '/v1/ledger/trial-balance', undefined, { role: 'finance' });
  const tb = balance.response as { totalFen?: number; balanced?: boolean; transactions?: number } | undefined;
  if (balance.status !== 200) add(`GET /v1/ledger/trial-balance answered ${balance.status}: ${short(balance.response)}`);
  else {
    if (tb?.totalFen !== 0 || tb.balanced !== true) add(`trial balance: total ${String(tb?.totalFen)} fen, balanced ${String(tb?.balanced)}`);
    if (tb?.transactions !== txs.length) add(`trial balance counts ${String(tb?.transactions)} transactions, the database has ${txs.length}`);
  }
  return {
    name,
    violations: capped(found),
    counts: `${txs.length} transactions, ${postings} order postings, ${topUps} top-ups confirmed, trial balance total ${String(tb?.totalFen)}`,
  };
}

// ── checkouts (C3, C4) ───────────────────────────────────────────────────────────────────────

/**
 * C3/C4 over every checkout stored: a completed one paid its total once into its escrow, placed
 * every line's order (and boost) from it and left the escrow at 0; a failed one moved no money,
 * placed nothing and holds no id; none is left placing.
 */
export async function checkCheckouts(pool: pg.Pool): Promise<InvariantResult> {
  const name = 'checkouts all or nothing';
  const { rows } = await pool.query<{ checkout_id: string; status: string; total_fen: string; line_count: number; boost_lines: number; tasks: number; boosts: number; payments: number; paid_fen: string; escrow_fen: string; claims: number }>(
    `select c.checkout_id, c.status, c.total_fen::text, c.line_count,
            (select count(*) from jsonb_array_elements(coalesce(c.details -> 'state' -> 'lines', '[]'::jsonb)) l where jsonb_typeof(l -> 'line' -> 'boostTerms') = 'object')::int as boost_lines,
            (select count(*) from task_orders t where t.details -> 'state' -> 'placement' -> 'funding' ->> 'checkoutId' = c.checkout_id)::int as tasks,
            (select count(*) from boost_orders b where b.details -> 'state' -> 'terms' -> 'funding' ->> 'checkoutId' = c.checkout_id)::int as boosts,
            (select count(*) from ledger_transactions x where x.kind = 'checkout_payment' and left(x.tx_id, length(c.checkout_id) + 10) = 'checkout:' || c.checkout_id || ':')::int as payments,
            (select coalesce(sum(r.amount_fen), 0) from ledger_transfers r where r.credit_account = 'escrow:checkout:' || c.checkout_id)::text as paid_fen,
            (select coalesce(sum(case when r.credit_account = 'escrow:checkout:' || c.checkout_id then r.amount_fen else -r.amount_fen end), 0)
               from ledger_transfers r where 'escrow:checkout:' || c.checkout_id in (r.debit_account, r.credit_account))::text as escrow_fen,
            (select count(*) from order_id_claims k where k.checkout_id = c.checkout_id)::int as claims
       from checkouts c`,
  );
  const found: Violation[] = [];
  const counts = { completed: 0, failed: 0, placing: 0 };
  for (const c of rows) {
    const add = (message: string) => found.push(violation(name, `checkout ${c.checkout_id} (${c.status}): ${message}`, `checkout:${c.checkout_id}`));
    if (c.status === 'completed' || c.status === 'failed' || c.status === 'placing') counts[c.status] += 1;
    if (BigInt(c.escrow_fen) !== 0n && c.status !== 'placing') add(`escrow:checkout holds ${c.escrow_fen} fen (C4: 0 once every line is placed; C3: nothing paid)`);
    if (c.status === 'completed') {
      if (c.payments !== 1) add(`${c.payments} checkout payments (C4: exactly once)`);
      if (BigInt(c.paid_fen) !== BigInt(c.total_fen)) add(`${c.paid_fen} fen paid into its escrow for a total of ${c.total_fen}`);
      if (c.tasks !== c.line_count || c.boosts !== c.boost_lines) add(`${c.tasks}/${c.line_count} task orders and ${c.boosts}/${c.boost_lines} boost orders placed from it (C3: every line)`);
    } else if (c.status === 'failed') {
      if (c.payments !== 0 || BigInt(c.paid_fen) !== 0n) add(`${c.payments} payments, ${c.paid_fen} fen paid (C3: nothing)`);
      if (c.tasks !== 0 || c.boosts !== 0 || c.claims !== 0) add(`${c.tasks} task orders, ${c.boosts} boost orders and ${c.claims} ids left behind (C3: nothing)`);
    } else add('still placing after the run went quiet (C4: its lines are placed all the same)');
  }
  return { name, violations: capped(found), counts: `${rows.length} checkouts: ${counts.completed} completed, ${counts.failed} failed, ${counts.placing} placing` };
}

// ── audit ────────────────────────────────────────────────────────────────────────────────────

export async function checkAudit(http: SimHttp): Promise<InvariantResult> {
  const name = 'audit clean';
  const answer = await http.call('GET', '/v1/ledger/audit', undefined, { role: 'finance' });
  if (answer.status !== 200) return { name, violations: [violation(name, `GET /v1/ledger/audit answered ${answer.status}: ${short(answer.response)}`)], counts: 'no report' };
  const report = answer.response as {
    ok: boolean;
    checkedTransactions: number;
    checkedOrders: number;
    reconciledOrders: number;
    workflows: { compared: number; running: number; unavailable: number; skipped?: string };
    discrepancyCount: number;
    discrepancies: Array<{ kind: string; message: string; orderId?: string }>;
  };
  const found: Violation[] = report.discrepancies.map((d) => violation(name, `${d.kind}: ${d.message}`, d.orderId));
  if (!report.ok && found.length === 0) found.push(violation(name, `the audit is not ok (${report.discrepancyCount} discrepancies)`));
  if (report.workflows.skipped) found.push(violation(name, `L6 against the workflows was skipped: ${report.workflows.skipped}`));
  if (report.workflows.unavailable > 0) found.push(violation(name, `${report.workflows.unavailable} closed orders' workflows could not be asked (Temporal is up)`));
  return {
    name,
    violations: capped(found),
    counts: `${report.checkedTransactions} transactions, ${report.checkedOrders} orders (${report.reconciledOrders} reconciled), workflows compared ${report.workflows.compared}, running ${report.workflows.running}, unavailable ${report.workflows.unavailable}, ${report.discrepancyCount} discrepancies`,
  };
}

// ── notifications ────────────────────────────────────────────────────────────────────────────

export async function checkNotifications(pool: pg.Pool, records: readonly LifecycleRecord[] = []): Promise<InvariantResult> {
  const name = 'notifications once';
  const found: Violation[] = [];
  // E3 against the model, both ways: each lifecycle's notifications are those one of its possible states implies.
  const { rows: all } = await pool.query<{ order_id: string; kind: string; recipient: string }>(
    `select order_id, kind, recipient_type || ':' || recipient_id as recipient from notifications`,
  );
  const implied = compareNotifications(records, all);
  found.push(...implied.violations);
  const { rows: twice } = await pool.query<{ order_id: string; event_version: number; kind: string; recipient: string; n: number }>(
    `select order_id, event_version, kind, recipient_type || ':' || recipient_id as recipient, count(*)::int as n
       from notifications group by 1, 2, 3, 4 having count(*) > 1 order by 1, 2 limit 500`,
  );
  for (const row of twice) found.push(violation(name, `${row.n} "${row.kind}" notifications to ${row.recipient} for event v${row.event_version}`, row.order_id));
  const { rows: orphans } = await pool.query<{ order_id: string; event_version: number; kind: string }>(
    `select n.order_id, n.event_version, n.kind from notifications n
       where not exists (select 1 from order_events e where e.order_id = n.order_id and e.version = n.event_version) limit 500`,
  );
  for (const row of orphans) found.push(violation(name, `"${row.kind}" notification for v${row.event_version}, an event that does not exist`, row.order_id));
  const { rows } = await pool.query<{ notifications: number; events: number }>(
    `select (select count(*) from notifications)::int as notifications, (select count(distinct (order_id, event_version)) from notifications)::int as events`,
  );
  return { name, violations: capped(found), counts: `${rows[0]?.notifications ?? 0} notifications for ${rows[0]?.events ?? 0} events; ${implied.counts}` };
}

/**
 * E3, pure: per lifecycle, the notifications of its orders (rows of the outbox: order, kind,
 * recipient) equal those one of its model's possible states implies — none missing, none more.
 * A row of an order no lifecycle owns is counted (a lifecycle that did not finish has no record).
 */
export function compareNotifications(
  records: readonly LifecycleRecord[],
  rows: ReadonlyArray<{ order_id: string; kind: string; recipient: string }>,
): { violations: Violation[]; counts: string } {
  const name = 'notifications once';
  const found: Violation[] = [];
  const owner = new Map<string, LifecycleRecord>();
  for (const record of records) {
    for (const id of record.taskOrderIds) owner.set(id, record);
    for (const id of record.boostOrderIds) owner.set(`boost:${id}`, record);
    for (const id of record.checkoutIds ?? []) owner.set(`checkout:${id}`, record);
  }
  const product = new Map<LifecycleRecord, Record<string, number>>();
  let unowned = 0;
  for (const row of rows) {
    const record = owner.get(row.order_id);
    if (!record) {
      unowned += 1;
      continue;
    }
    const notes = product.get(record) ?? {};
    const key = `${row.order_id}|${row.kind}|${row.recipient}`;
    notes[key] = (notes[key] ?? 0) + 1;
    product.set(record, notes);
  }
  let checked = 0;
  let skipped = 0;
  for (const record of records) {
    const candidates = record.expectedNotifications;
    if (!candidates || candidates.length === 0) {
      skipped += 1;
      continue;
    }
    checked += 1;
    const mine = product.get(record) ?? {};
    const diffs = candidates.map((c) => {
      const missing: string[] = [];
      const extra: string[] = [];
      for (const key of new Set([...Object.keys(c), ...Object.keys(mine)])) {
        const want = c[key] ?? 0;
        const have = mine[key] ?? 0;
        if (have < want) missing.push(`${key}${want - have > 1 ? ` ×${want - have}` : ''}`);
        if (have > want) extra.push(`${key}${have - want > 1 ? ` ×${have - want}` : ''}`);
      }
      return { missing, extra };
    });
    if (diffs.some((d) => d.missing.length === 0 && d.extra.length === 0)) continue;
    const closest = diffs.reduce((a, b) => (a.missing.length + a.extra.length <= b.missing.length + b.extra.length ? a : b));
    const orderId = [...closest.missing, ...closest.extra][0]?.split('|')[0];
    found.push(
      violation(
        name,
        `${record.label}: its notifications are none that the model implies (of ${candidates.length} possible); closest: missing [${closest.missing.join(', ')}], unexpected [${closest.extra.join(', ')}]`,
        orderId?.replace(/^boost:/, ''),
      ),
    );
  }
  return { violations: found, counts: `${checked} lifecycles' notifications matched against the model (${skipped} without a model: it diverged or they placed nothing), ${unowned} of orders no lifecycle owns` };
}

// ── event feed (E4) ──────────────────────────────────────────────────────────────────────────

/** One event of GET /v1/events, as far as the checks read it (the rest is compared whole). */
export interface FeedEvent {
  readonly id: string;
  readonly orderId: string;
  readonly orderKind: string;
  readonly [key: string]: unknown;
}

/** The feed's page sizes: small, and different, so page boundaries fall elsewhere the second time. */
export const FEED_PAGE_LIMITS = [7, 23] as const;

/** GET /v1/events from the start to `hasMore: false`, `limit` at a time (at most `maxPages`). */
export async function readWholeFeed(http: SimHttp, limit: number, maxPages: number): Promise<{ events: FeedEvent[]; pages: number; error?: string }> {
  const events: FeedEvent[] = [];
  let after: string | undefined;
  for (let pages = 1; pages <= maxPages; pages++) {
    const answer = await http.call('GET', `/v1/events?limit=${limit}${after ? `&after=${after}` : ''}`);
    const page = answer.response as { events?: FeedEvent[]; nextCursor?: string; hasMore?: boolean } | undefined;
    if (answer.status !== 200 || !Array.isArray(page?.events) || typeof page.nextCursor !== 'string') {
      return { events, pages, error: `GET /v1/events (page ${pages}, limit ${limit}) answered ${answer.status}: ${short(answer.response)}` };
    }
    events.push(...page.events);
    if (!page.hasMore) return { events, pages };
    if (page.events.length === 0) return { events, pages, error: `page ${pages} is empty but says hasMore` };
    after = page.nextCursor;
  }
  return { events, pages: maxPages, error: `the feed did not end within ${maxPages} pages of ${limit}` };
}

/**
 * E4, pure: each reading of the feed lists every outbox row (`tableIds`, the notifications table
 * in (writer_xid, id) order, as `evt_<id>`) exactly once, nothing else, and in that order — so
 * every reading lists them in the same order.
 */
export function compareFeed(tableIds: readonly string[], readings: ReadonlyArray<{ limit: number; ids: readonly string[] }>): Violation[] {
  const name = 'feed exactly once';
  const found: Violation[] = [];
  const inTable = new Set(tableIds);
  for (const { limit, ids } of readings) {
    const seen = new Map<string, number>();
    for (const id of ids) seen.set(id, (seen.get(id) ?? 0) + 1);
    for (const [id, n] of seen) if (n > 1) found.push(violation(name, `paged by ${limit}: ${id} is listed ${n} times`));
    for (const id of seen.keys()) if (!inTable.has(id)) found.push(violation(name, `paged by ${limit}: ${id} is listed but is no notification`));
    const missing = tableIds.filter((id) => !seen.has(id));
    if (missing.length) found.push(violation(name, `paged by ${limit}: ${missing.length} notifications never listed: ${missing.slice(0, 10).join(', ')}`));
    const at = ids.findIndex((id, i) => id !== tableIds[i]);
    if (found.length === 0 && at >= 0) found.push(violation(name, `paged by ${limit}: position ${at} is ${ids[at]}, the (writer_xid, id) order has ${tableIds[at]} there`));
  }
  return found;
}

export async function checkFeed(pool: pg.Pool, http: SimHttp): Promise<InvariantResult & { events: FeedEvent[] }> {
  const name = 'feed exactly once';
  // Ordered by the int8 column, not by the text alias (ORDER BY would pick the output column: '1000' < '998').
  const { rows } = await pool.query<{ feed_id: string }>(`select n.id::text as feed_id from notifications n order by n.writer_xid, n.id`);
  const tableIds = rows.map((r) => `evt_${r.feed_id}`);
  const readings: Array<{ limit: number; ids: string[]; events: FeedEvent[]; pages: number }> = [];
  const found: Violation[] = [];
  for (const limit of FEED_PAGE_LIMITS) {
    const read = await readWholeFeed(http, limit, Math.ceil(tableIds.length / limit) + 20);
    if (read.error) found.push(violation(name, read.error));
    readings.push({ limit, ids: read.events.map((e) => e.id), events: read.events, pages: read.pages });
  }
  found.push(...compareFeed(tableIds, readings));
  const [first, second] = readings;
  // Same ids in the same order is compared above; the events themselves must not change either.
  if (first && second && found.length === 0) {
    const changed = first.events.filter((e, i) => !isDeepStrictEqual(e, second.events[i]));
    for (const e of changed.slice(0, 20)) found.push(violation(name, `${e.id} reads differently the second time`, e.orderId));
  }
  return {
    name,
    violations: capped(found),
    counts: `${tableIds.length} notifications; listed ${readings.map((r) => `${r.ids.length} in ${r.pages} pages of ${r.limit}`).join(', ')}`,
    events: first?.events ?? [],
  };
}

// ── webhooks (E5) ────────────────────────────────────────────────────────────────────────────

/**
 * E5, pure, over what the receiver recorded: every signature verified; every delivery's
 * webhook-id is a feed event's id and its body is that event (the same JSON); the duplicates of
 * an event carry the same id and the identical body; every feed event was answered 2xx at least
 * once; and per order (docs/webhooks.md: "while one fails, the later events of that order wait")
 * an event is first sent only after the order's previous event in feed order was answered 2xx —
 * so, per order, the first deliveries arrived in feed order.
 */
export function compareWebhooks(feed: readonly FeedEvent[], arrivals: readonly Arrival[]): Violation[] {
  const name = 'webhooks at least once';
  const found: Violation[] = [];
  const byId = new Map(feed.map((e) => [e.id, e]));
  const ofEvent = new Map<string, Arrival[]>();
  for (const a of arrivals) {
    const event = byId.get(a.webhookId);
    const add = (message: string) => found.push(violation(name, `delivery #${a.seq} (${a.webhookId}): ${message}`, event?.orderId));
    if (a.signatureError !== null) add(`the signature did not verify: ${a.signatureError}`);
    if (!event) {
      add('its webhook-id is no event of the feed');
      continue;
    }
    let body: unknown;
    try {
      body = JSON.parse(a.body);
    } catch {
      body = a.body;
    }
    if (!isDeepStrictEqual(body, event)) add(`its body is not the feed's event: ${short(a.body, 200)} vs ${short(event, 200)}`);
    ofEvent.set(a.webhookId, [...(ofEvent.get(a.webhookId) ?? []), a]);
  }
  for (const [id, list] of ofEvent) {
    const bodies = new Set(list.map((a) => a.body));
    if (bodies.size > 1) found.push(violation(name, `${id} was delivered ${list.length} times with ${bodies.size} different bodies`, byId.get(id)?.orderId));
  }
  const accepted = (id: string) => (ofEvent.get(id) ?? []).find((a) => a.status >= 200 && a.status < 300);
  for (const e of feed) if (!accepted(e.id)) found.push(violation(name, `${e.id} was never delivered (${ofEvent.get(e.id)?.length ?? 0} attempts arrived, none answered 2xx)`, e.orderId));
  found.push(...orderViolations(feed, ofEvent, accepted));
  return found;
}

/** Per order, in feed order: each event's first arrival comes after its predecessor's first 2xx answer. */
function orderViolations(feed: readonly FeedEvent[], ofEvent: ReadonlyMap<string, Arrival[]>, accepted: (id: string) => Arrival | undefined): Violation[] {
  const found: Violation[] = [];
  const previous = new Map<string, FeedEvent>();
  for (const e of feed) {
    const order = `${e.orderKind}:${e.orderId}`;
    const before = previous.get(order);
    previous.set(order, e);
    const first = ofEvent.get(e.id)?.[0];
    if (!before || !first) continue;
    const ok = accepted(before.id)?.answeredSeq;
    if (ok === undefined || ok === null || first.seq < ok) {
      found.push(violation('webhooks at least once', `${e.id} was first sent (#${first.seq}) before ${before.id}, the order's previous event, was answered 2xx (${ok ?? 'never'})`, e.orderId));
    }
  }
  return found;
}

export async function checkWebhooks(pool: pg.Pool, http: SimHttp, endpointId: string, feed: readonly FeedEvent[], arrivals: readonly Arrival[]): Promise<InvariantResult> {
  const name = 'webhooks at least once';
  const found = compareWebhooks(feed, arrivals);
  const add = (message: string) => found.push(violation(name, message));
  // (d) the receiver's failures are short: nothing gave up, the endpoint was not disabled.
  const endpoint = await http.call('GET', `/v1/webhook-endpoints/${endpointId}`);
  const status = (endpoint.response as { status?: string } | undefined)?.status;
  if (endpoint.status !== 200 || status !== 'active') add(`the endpoint ${endpointId} is ${String(status)} (GET answered ${endpoint.status})`);
  const { rows } = await pool.query<{ status: string; n: number; attempts: number }>(
    `select status, count(*)::int as n, sum(attempt_count)::int as attempts from webhook_deliveries where endpoint_id = $1 group by status`,
    [endpointId],
  );
  const byStatus = new Map(rows.map((r) => [r.status, r.n]));
  const claims = rows.reduce((n, r) => n + r.attempts, 0);
  for (const r of rows) if (r.status !== 'delivered') add(`${r.n} deliveries are ${r.status}`);
  if ((byStatus.get('delivered') ?? 0) !== feed.length) add(`${byStatus.get('delivered') ?? 0} deliveries delivered, the feed has ${feed.length} events`);
  const { rows: outcomes } = await pool.query<{ outcome: string; n: number }>(
    `select outcome, count(*)::int as n from webhook_attempts where endpoint_id = $1 group by outcome order by outcome`,
    [endpointId],
  );
  const recorded = outcomes.reduce((n, o) => n + o.n, 0);
  const duplicates = arrivals.length - new Set(arrivals.map((a) => a.webhookId)).size;
  return {
    name,
    violations: capped(found),
    counts:
      `${feed.length} events, ${arrivals.length} arrivals (${duplicates} repeats), ${claims} claims, ${recorded} attempts recorded ` +
      `(${outcomes.map((o) => `${o.outcome} ${o.n}`).join(', ')}), ${claims - recorded} claims never recorded (a worker killed mid-send, or PostgreSQL away when recording)`,
  };
}

// ── HTTP statuses against the fault windows ──────────────────────────────────────────────────

/** When a status is explained by a fault: from its start to its recovery plus `graceMs` (clients reconnecting). */
export interface StatusWindow {
  readonly kind: string;
  readonly fromMs: number;
  readonly toMs: number;
}

export function statusWindows(records: readonly FaultRecord[], graceMs: number): StatusWindow[] {
  return records.map((r) => ({ kind: r.kind, fromMs: r.startedAtMs - 250, toMs: r.recoveredAtMs + graceMs }));
}

/**
 * SPEC §8: never a 500 (nor any 5xx but 503); a 503 only while a dependency is down or coming
 * back (a fault's window); no answer at all only while the API itself restarts (otherwise a
 * request hung past the client's timeout, or the API dropped it).
 */
export function checkStatuses(exchanges: readonly Exchange[], windows: readonly StatusWindow[], labelOf: (e: Exchange) => string | undefined = () => undefined): InvariantResult {
  const name = 'no 5xx but 503 in faults';
  const found: Violation[] = [];
  const overlaps = (e: Exchange, kinds?: readonly string[]) =>
    windows.some((w) => (!kinds || kinds.includes(w.kind)) && e.startedAtMs <= w.toMs && e.endedAtMs >= w.fromMs);
  const byStatus = new Map<number, number>();
  for (const e of exchanges) {
    byStatus.set(e.status, (byStatus.get(e.status) ?? 0) + 1);
    const where = `${e.method} ${e.path} at ${new Date(e.startedAtMs).toISOString()} (${e.endedAtMs - e.startedAtMs} ms)`;
    const add = (message: string) => {
      const label = labelOf(e);
      found.push({ ...violation(name, `${message} for ${where}: ${short(e.response)}`, orderIdOf(e.path)), ...(label ? { step: label } : {}) });
    };
    if (e.status >= 500 && e.status !== 503) add(`${e.status}`);
    else if (e.status === 503 && !overlaps(e)) add('503 outside any fault window');
    else if (e.status === 0 && !overlaps(e, ['api-kill'])) add('no answer outside an API restart');
  }
  const counts = [...byStatus.entries()].sort(([a], [b]) => a - b).map(([status, n]) => `${status}×${n}`).join(' ');
  return { name, violations: capped(found), counts: `${exchanges.length} exchanges: ${counts}` };
}

// ── processes ────────────────────────────────────────────────────────────────────────────────

/**
 * SPEC §10: no process exits because a dependency went away; every fault's component came back;
 * and no process logged an unhandled rejection (platform/process-safety.ts keeps the process alive
 * but calls it a bug: `bugLines` are those lines of the processes' logs).
 */
export function checkProcesses(exits: readonly UnexpectedExit[], faults: readonly FaultRecord[], bugLines: readonly string[] = []): InvariantResult {
  const name = 'no process died';
  const found: Violation[] = exits.map((e) => violation(name, `${e.name} exited by itself at ${new Date(e.atMs).toISOString()} (code ${e.code}, signal ${e.signal})`));
  for (const f of faults) if (f.error) found.push(violation(name, `fault ${f.kind} at ${new Date(f.startedAtMs).toISOString()} did not recover: ${f.error}`));
  for (const line of bugLines.slice(0, 50)) found.push(violation(name, line));
  return {
    name,
    violations: found,
    counts: `${exits.length} unexpected exits, ${faults.filter((f) => f.error).length} failed recoveries, ${bugLines.length} unhandled rejections logged`,
  };
}

// ── helpers ──────────────────────────────────────────────────────────────────────────────────

/** An amount of an event payload, in fen; anything else (absent, renamed, a float) throws: never read as 0. */
export function fen(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  throw new Error(`unreadable amount ${short(value, 60)} (not an integer number of fen)`);
}

function orderIdOf(path: string): string | undefined {
  return /^\/v1\/(?:task-orders|boost-orders|ops\/orders)\/([^/?]+)/.exec(path)?.[1];
}

export function short(value: unknown, max = 300): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
