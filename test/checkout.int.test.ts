import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { sql } from 'kysely';
import { ApiError } from '../api/errors';
import { createBoostService } from '../api/boost-service';
import { createCheckoutService } from '../api/checkout-service';
import { createTaskOrderService } from '../api/task-order-service';
import { postTopUp } from '../db/top-ups';
import { auditLedger, type AuditReport } from '../db/audit/audit';
import { createDb, type Db } from '../db/connect';
import { postLedgerTransaction } from '../db/ledger';
import type { CheckoutLineRequest, CheckoutRequest } from '../domain/checkout';
import { checkCheckouts, checksPool } from '../sim/invariants';
import { writeCounts, type TestDatabase } from './support/db';
import { placement } from './support/fixtures';
import { balances } from './support/ledger';
import { runningWorker, withTimeSkippingWorker } from './support/temporal';

/** Checkouts (SPEC C1–C5) through the service, as the API drives them, on the time-skipping server. */
const DAY = 24 * 3_600_000;
const taskQueue = 'checkout-test';

let env: TestWorkflowEnvironment;
let database: TestDatabase;
withTimeSkippingWorker(taskQueue, (world) => ({ env, database } = world));

const nowMs = () => env.currentTimeMs();
const checkouts = (queue = taskQueue) => createCheckoutService({ db: database.db, client: env.client, taskQueue: queue, nowMs });
const boosts = () => createBoostService({ db: database.db, client: env.client, taskQueue, nowMs });
const tasks = () => createTaskOrderService({ db: database.db, client: env.client, taskQueue });

let seq = 0;
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${(seq += 1)}`;
const brief = { title: 'Spring launch', industry: 'beauty', expectedPublishAt: '2030-01-01T00:00:00.000Z' };

/** B2: three videos of 10 000 views: the 10% floor, a fee of 10 000 fen on 100 000. */
async function quotedCreator(clientId: string): Promise<{ creatorId: string; quoteId: string }> {
  const creatorId = unique('k');
  const now = await nowMs();
  for (const [i, ageDays] of [5, 10, 15].entries()) {
    await boosts().postVideoStats({ videoId: unique(`v${i}`), creatorId, publishedAt: new Date(now - ageDays * DAY).toISOString(), views: 10_000n, observedAt: new Date(now).toISOString() });
  }
  const [quoted] = await boosts().quote(clientId, [{ creatorId, priceFen: 100_000n }]);
  return { creatorId, quoteId: quoted!.quoteId };
}

function line(overrides: Partial<CheckoutLineRequest> = {}): CheckoutLineRequest {
  return { orderId: unique('o'), creatorId: unique('k'), taskType: 'douyin_video', priceFen: 100_000n, brief, ...overrides };
}

/** A client with `amountFen` in its account and a checkout of two lines, the first boosted. */
async function basket(amountFen: bigint, overrides: Partial<CheckoutRequest> = {}): Promise<CheckoutRequest> {
  const clientId = unique('c');
  if (amountFen > 0n) await postTopUp(database.db, { clientId, paymentRef: unique('top'), amountFen }, new Date());
  const { creatorId, quoteId } = await quotedCreator(clientId);
  return {
    checkoutId: unique('co'),
    clientId,
    paymentMode: 'full',
    funding: { source: 'account' },
    lines: [line({ creatorId, boost: { boostOrderId: unique('b'), quoteId } }), line({ taskType: 'douyin_live', priceFen: 50_000n })],
    ...overrides,
  };
}
// Line 0: 100 000 + 10 000 fee + 10 000 boost; line 1: 50 000 + 5 000.
const TOTAL = 175_000n;

async function refusal(promise: Promise<unknown>): Promise<{ code: string; lineIndex?: unknown }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ApiError) return { code: error.code, lineIndex: (error.details as Record<string, unknown> | undefined)?.lineIndex };
    throw error;
  }
  throw new Error('expected a refusal');
}

const escrow = (checkoutId: string) => `escrow:checkout:${checkoutId}`;

describe('C1–C4: a basket placed and paid once', () => {
  test('C2: the preview prices every line and the total, says each boost is available, and writes nothing', async () => {
    const request = await basket(TOTAL);
    const before = await writeCounts(database.db);
    const preview = await checkouts().preview(request);
    expect(preview).toMatchObject({
      totalFen: TOTAL,
      refusal: null,
      lines: [
        { lineIndex: 0, serviceFeeFen: 10_000n, placementFen: 110_000n, boost: { available: true, boostFeeFen: 10_000n, expectedViews: 10_000 }, lineTotalFen: 120_000n },
        { lineIndex: 1, serviceFeeFen: 5_000n, placementFen: 55_000n, boost: null, lineTotalFen: 55_000n },
      ],
    });
    expect((await checkouts().preview({ ...request, paymentMode: 'deposit' })).totalFen).toBe(10_000n + 10_000n + 5_000n);
    expect(await writeCounts(database.db)).toEqual(before);
  });

  test('C1/C3/C4/L6: every line placed with its boost, the total paid once into escrow:checkout and drained by the placements; the same request again answers the same checkout', async () => {
    const request = await basket(TOTAL);
    const { created, state } = await checkouts().place(request);
    expect(created).toBe(true);
    expect(state).toMatchObject({ status: 'completed', totalFen: TOTAL, escrowFen: 0n });
    const [boosted, plain] = request.lines;
    const money = await balances(database.db, { client: `client:${request.clientId}`, checkout: escrow(request.checkoutId), task0: `escrow:task:${boosted!.orderId}`, task1: `escrow:task:${plain!.orderId}`, boost: `escrow:boost:${boosted!.boost!.boostOrderId}` });
    expect(money).toEqual({ client: 0n, checkout: 0n, task0: 110_000n, task1: 55_000n, boost: 10_000n });
    const ledger = await database.db.selectFrom('ledger_transfers as t').innerJoin('ledger_transactions as x', 'x.tx_id', 't.tx_id')
      .select(['x.kind', 't.debit_account', 't.credit_account', 't.amount_fen']).where((eb) => eb.or([eb('t.debit_account', '=', escrow(request.checkoutId)), eb('t.credit_account', '=', escrow(request.checkoutId))])).orderBy('x.seq').execute();
    expect(ledger).toEqual([
      { kind: 'checkout_payment', debit_account: `client:${request.clientId}`, credit_account: escrow(request.checkoutId), amount_fen: TOTAL },
      expect.objectContaining({ kind: 'placement_payment', debit_account: escrow(request.checkoutId), amount_fen: expect.any(BigInt) }),
      expect.objectContaining({ kind: 'placement_payment', debit_account: escrow(request.checkoutId) }),
      { kind: 'boost_payment', debit_account: escrow(request.checkoutId), credit_account: `escrow:boost:${boosted!.boost!.boostOrderId}`, amount_fen: 10_000n },
    ]);
    // C5: each order names its checkout; the client learns checkout_completed once.
    const order = await tasks().findOrder(plain!.orderId);
    expect(order.status).toBe('awaiting_acceptance');
    const kinds = await database.db.selectFrom('notifications').select('kind').where('order_id', '=', `checkout:${request.checkoutId}`).execute();
    expect(kinds.map((k) => k.kind)).toEqual(['checkout_completed']);
    // C4: the same request answers the same checkout; another content under the same id is 409.
    const before = await writeCounts(database.db);
    expect(await checkouts().place(request)).toMatchObject({ created: false, state: { status: 'completed' } });
    expect(await refusal(checkouts().place({ ...request, paymentMode: 'deposit' }))).toEqual({ code: 'invalid_state', lineIndex: undefined });
    expect(await writeCounts(database.db)).toEqual(before);
  });

  test('C3/L2: a client without enough money → insufficient_funds; no order, no order event, no money — only the refusal, told once', async () => {
    const request = await basket(TOTAL - 1n);
    const before = await writeCounts(database.db);
    expect(await refusal(checkouts().place(request))).toEqual({ code: 'insufficient_funds', lineIndex: undefined });
    const after = await writeCounts(database.db);
    expect(after).toEqual({ ...before, order_events: before.order_events! + 1, notifications: before.notifications! + 1, checkouts: before.checkouts! + 1 });
    expect(await database.db.selectFrom('task_orders').select('order_id').where('order_id', 'in', request.lines.map((l) => l.orderId)).execute()).toEqual([]);
    // The same request again answers the same refusal, writing nothing more.
    expect(await refusal(checkouts().place(request))).toEqual({ code: 'insufficient_funds', lineIndex: undefined });
    expect(await writeCounts(database.db)).toEqual(after);
  });

  test('C3/B1: a quote expired by the time of the checkout → deadline_passed at its line; nothing placed', async () => {
    const request = await basket(TOTAL);
    await env.sleep(31 * 60_000);
    const reordered = { ...request, lines: [request.lines[1]!, request.lines[0]!] };
    expect(await refusal(checkouts().place(reordered))).toEqual({ code: 'deadline_passed', lineIndex: 1 });
    expect(await balances(database.db, { client: `client:${request.clientId}` })).toEqual({ client: TOTAL });
  });

  test('C3: an orderId already used by an order → invalid_state at its line; a single placement for a checkout\'s id is refused', async () => {
    const request = await basket(TOTAL);
    const taken = placement({ orderId: request.lines[1]!.orderId });
    await tasks().place(taken);
    expect(await refusal(checkouts().place(request))).toEqual({ code: 'invalid_state', lineIndex: 1 });

    const next = await basket(TOTAL);
    expect((await checkouts().place(next)).state.status).toBe('completed');
    const before = await writeCounts(database.db);
    expect(await refusal(tasks().place(placement({ orderId: next.lines[0]!.orderId })))).toMatchObject({ code: 'idempotency_mismatch' });
    expect(await writeCounts(database.db)).toEqual(before);
  });

  test('C3/C4: two checkouts racing for one orderId → exactly one pays; the other is refused at that line with nothing left behind', async () => {
    const a = await basket(TOTAL);
    const b = await basket(TOTAL);
    const shared = a.lines[1]!.orderId;
    const bShared: CheckoutRequest = { ...b, lines: [b.lines[0]!, { ...b.lines[1]!, orderId: shared }] };
    const outcomes = await Promise.allSettled([checkouts().place(a), checkouts().place(bShared)]);
    const paid = outcomes.filter((o) => o.status === 'fulfilled');
    expect(paid).toHaveLength(1);
    const refused = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(ApiError);
    expect((refused.reason as ApiError).code).toBe('invalid_state');
    expect(((refused.reason as ApiError).details as { lineIndex: number }).lineIndex).toBe(1);
    const loser = paid[0]!.status === 'fulfilled' && (paid[0] as PromiseFulfilledResult<{ state: { checkoutId: string } }>).value.state.checkoutId === a.checkoutId ? bShared : a;
    expect(await balances(database.db, { client: `client:${loser.clientId}`, escrow: escrow(loser.checkoutId) })).toEqual({ client: TOTAL, escrow: 0n });
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from task_orders where order_id = ${shared}`.execute(database.db);
    expect(rows[0]?.n).toBe('1');
  });

  test('C4: a checkout of 50 lines: every line placed once, the escrow back to zero', async () => {
    const clientId = unique('c');
    const lines = Array.from({ length: 50 }, () => line({ taskType: 'douyin_live', priceFen: 10_000n }));
    await postTopUp(database.db, { clientId, paymentRef: unique('top'), amountFen: 50n * 11_000n }, new Date());
    const request: CheckoutRequest = { checkoutId: unique('co'), clientId, paymentMode: 'full', funding: { source: 'account' }, lines };
    const { state } = await checkouts().place(request);
    expect(state).toMatchObject({ status: 'completed', totalFen: 550_000n, escrowFen: 0n });
    const placed = await database.db.selectFrom('task_orders').select('order_id').where('order_id', 'in', lines.map((l) => l.orderId)).execute();
    expect(placed).toHaveLength(50);
    expect(await balances(database.db, { escrow: escrow(request.checkoutId), client: `client:${clientId}` })).toEqual({ escrow: 0n, client: 0n });
  });

  test('C4: the worker loses the payment\'s completion (killed after the commit): every line is still placed, once, and the money moved once', async () => {
    const heldQueue = `${taskQueue}-crash`;
    let crashes = 0;
    const held = await runningWorker(env, database.db, heldQueue, (activities) => ({
      ...activities,
      async recordCheckoutEvents(input) {
        const result = await activities.recordCheckoutEvents(input);
        if (input.events.some((e) => e.event.type === 'CheckoutPaid') && crashes === 0) {
          crashes += 1;
          throw new Error('the worker died after the payment committed');
        }
        return result;
      },
    }));
    try {
      const request = await basket(TOTAL);
      const { state } = await checkouts(heldQueue).place(request);
      expect(crashes).toBe(1);
      expect(state).toMatchObject({ status: 'completed', escrowFen: 0n });
      const payments = await database.db.selectFrom('ledger_transactions').select('tx_id').where('order_id', '=', request.checkoutId).execute();
      expect(payments).toHaveLength(1);
      expect(await balances(database.db, { client: `client:${request.clientId}`, escrow: escrow(request.checkoutId) })).toEqual({ client: 0n, escrow: 0n });
    } finally {
      await held.stop();
    }
  });

  test('C3/C4: a single placement racing a paid checkout for one orderId (its order not stored yet) is refused invalid_state; the checkout places its line', async () => {
    const heldQueue = `${taskQueue}-race`;
    let single: unknown;
    const held = await runningWorker(env, database.db, heldQueue, (activities) => ({
      ...activities,
      async recordCheckoutEvents(input) {
        const result = await activities.recordCheckoutEvents(input);
        const paid = input.events.find((e) => e.event.type === 'CheckoutPaid');
        if (paid?.event.type === 'CheckoutPaid') {
          const orderId = paid.event.terms.lines[1]!.orderId;
          single = await refusal(tasks().place(placement({ orderId, clientId: paid.event.terms.clientId })));
        }
        return result;
      },
    }));
    try {
      const request = await basket(TOTAL);
      const { state } = await checkouts(heldQueue).place(request);
      expect(single).toEqual({ code: 'invalid_state', lineIndex: undefined });
      expect(state).toMatchObject({ status: 'completed', escrowFen: 0n });
      const order = await tasks().findOrder(request.lines[1]!.orderId);
      expect(order.paid_in_fen).toBe(55_000n);
    } finally {
      await held.stop();
    }
  });

  test('C4/B4/B7: a line\'s task order closed before its boost is placed (the creator rejects in between): the boost is placed all the same and ends with its task, its fee refund scheduled; the checkout completes, its escrow zero (found by the simulation)', async () => {
    const heldQueue = `${taskQueue}-closed`;
    let rejected: unknown;
    const held = await runningWorker(env, database.db, heldQueue, (activities) => ({
      ...activities,
      async recordBoostEvents(input) {
        const ordered = input.events.find((e) => e.event.type === 'BoostOrdered');
        if (ordered?.event.type === 'BoostOrdered' && rejected === undefined) {
          rejected = 'pending';
          rejected = await tasks().command(ordered.event.taskOrderId, 'reject', { actor: { type: 'creator', id: ordered.event.creatorId } }); // T7
        }
        return activities.recordBoostEvents(input);
      },
    }));
    try {
      const request = await basket(TOTAL);
      const { state } = await checkouts(heldQueue).place(request);
      expect(rejected).toMatchObject({ status: 'cancelled' });
      expect(state).toMatchObject({ status: 'completed', escrowFen: 0n });
      const boostOrderId = request.lines[0]!.boost!.boostOrderId;
      const boostRow = async () => database.db.selectFrom('boost_orders').select(['status', 'refund_fen']).where('boost_order_id', '=', boostOrderId).executeTakeFirst();
      for (let i = 0; i < 100 && (await boostRow())?.status !== 'refund_scheduled'; i += 1) await new Promise((r) => setTimeout(r, 100));
      expect(await boostRow()).toEqual({ status: 'refund_scheduled', refund_fen: 10_000n });
      expect(await balances(database.db, { checkout: escrow(request.checkoutId), boost: `escrow:boost:${boostOrderId}` })).toEqual({ checkout: 0n, boost: 10_000n });
    } finally {
      await held.stop();
    }
  });

  test('C5/L6/F3: a checkout\'s lines closed on their own (rejected, cancelled) reconcile like any order: refunded to the client, the audit clean (found by the simulation)', async () => {
    const request = await basket(TOTAL);
    await checkouts().place(request);
    const [boosted, plain] = request.lines;
    const creator = (l: CheckoutLineRequest) => ({ actor: { type: 'creator' as const, id: l.creatorId } });
    await tasks().command(boosted!.orderId, 'reject', creator(boosted!)); // T7; B4: the boost ends with it
    await tasks().command(plain!.orderId, 'cancel', { actor: { type: 'client' as const, id: request.clientId } }); // T11
    const money = await balances(database.db, { client: `client:${request.clientId}`, checkout: escrow(request.checkoutId), task0: `escrow:task:${boosted!.orderId}`, task1: `escrow:task:${plain!.orderId}` });
    expect(money).toEqual({ client: 165_000n, checkout: 0n, task0: 0n, task1: 0n }); // both placements back; the boost fee follows B7
    const report = await auditLedger(database.db);
    expect(report.discrepancies.filter((d) => d.orderId === boosted!.orderId || d.orderId === plain!.orderId)).toEqual([]);
  });

  test('F3/L6: after every checkout above, the audit is clean: each checkout escrow reconciled to zero, each order\'s ledger matching its events', async () => {
    const report = await auditLedger(database.db);
    expect(report.discrepancies).toEqual([]);
  });
});

/**
 * F3/L6/C4, negative: the audit's checkout reconciliation (db/audit/audit-order-checks.ts
 * `reconcile`, with the checkout kind's `fundsOthers`) must name a checkout whose escrow does not
 * end at zero or whose payment is not the sum of its lines. Each test asserts the discrepancy of
 * the checkout itself (orderKind `checkout`): other parts of the audit (hash chains, the line's own
 * order) may also report a tampering, but only the checkout's L6 reconciliation reports these.
 * These run after the clean audit above; each undoes what it tampered with, except the last, whose
 * hand-made posting is part of the immutable ledger (L4) from then on.
 */
describe('F3/L6/C4: the audit catches a tampered checkout', () => {
  let owner: Db; // the login user: a superuser here, who can tamper behind the application's back
  beforeAll(() => {
    owner = createDb({ connectionString: database.url, role: null, maxConnections: 1 });
  });
  afterAll(async () => {
    await owner?.destroy();
  });

  /** Runs `statements` as the superuser with every trigger (immutability, chains, balances) bypassed. */
  async function tamper(...statements: Array<ReturnType<typeof sql>>): Promise<void> {
    await owner.transaction().execute(async (trx) => {
      await sql`set local session_replication_role = replica`.execute(trx);
      for (const statement of statements) await statement.execute(trx);
    });
  }

  /** The audit's findings about this checkout (not about its lines' orders or the chains). */
  async function checkoutFindings(checkoutId: string): Promise<Array<{ kind: string; account?: string; message: string }>> {
    const report: AuditReport = await auditLedger(database.db, { recordCheckpoint: false });
    expect(report.ok).toBe(false);
    return report.discrepancies.flatMap((d) => ('orderKind' in d && d.orderKind === 'checkout' && d.orderId === checkoutId ? [{ kind: d.kind, message: d.message, ...('account' in d && d.account ? { account: d.account } : {}) }] : []));
  }

  /** The simulation's "checkouts all or nothing" invariant over this database. */
  async function simCheckouts() {
    const pool = checksPool(database.url);
    try {
      return await checkCheckouts(pool);
    } finally {
      await pool.end();
    }
  }

  async function placed(request: CheckoutRequest, queue = taskQueue): Promise<void> {
    expect((await checkouts(queue).place(request)).state).toMatchObject({ status: 'completed', escrowFen: 0n });
  }

  test("F3/L6/C4: a line's placement posting deleted behind the application's back leaves escrow:checkout:{id} holding that line's amount: escrow_not_zero naming the checkout", async () => {
    const request = await basket(TOTAL);
    await placed(request);
    const line = request.lines[1]!;
    const { tx_id: txId } = await database.db.selectFrom('ledger_transfers').select('tx_id')
      .where('debit_account', '=', escrow(request.checkoutId)).where('credit_account', '=', `escrow:task:${line.orderId}`).executeTakeFirstOrThrow();
    await tamper(
      sql`create table tampered_tx as select * from ledger_transactions where tx_id = ${txId}`,
      sql`create table tampered_transfers as select * from ledger_transfers where tx_id = ${txId}`,
      sql`delete from ledger_transfers where tx_id = ${txId}`,
      sql`delete from ledger_transactions where tx_id = ${txId}`,
    );
    try {
      const findings = await checkoutFindings(request.checkoutId);
      expect(findings).toEqual(expect.arrayContaining([
        expect.objectContaining({ kind: 'escrow_not_zero', account: escrow(request.checkoutId), message: expect.stringContaining('holds 55000 fen') }),
        expect.objectContaining({ kind: 'money_differs_from_events' }),
      ]));
      // The simulation's own net (sim/invariants.ts) sees it too, from the tables alone.
      expect((await simCheckouts()).violations.filter((v) => v.orderId === `checkout:${request.checkoutId}`).map((v) => v.message)).toEqual([
        expect.stringContaining('escrow:checkout holds 55000 fen'),
      ]);
    } finally {
      await tamper(
        sql`insert into ledger_transactions select * from tampered_tx`,
        sql`insert into ledger_transfers select * from tampered_transfers`,
        sql`drop table tampered_tx`,
        sql`drop table tampered_transfers`,
      );
    }
    expect((await auditLedger(database.db, { recordCheckpoint: false })).discrepancies).toEqual([]);
    expect((await simCheckouts()).violations).toEqual([]);
  });

  test("F3/L4/L6/C4: the checkout payment's amount altered behind the application's back (1 fen more than its lines' placements + boost fees): the checkout's escrow and money reported, besides the hash", async () => {
    const request = await basket(TOTAL);
    await placed(request);
    const txId = (await database.db.selectFrom('ledger_transactions').select('tx_id').where('order_id', '=', request.checkoutId).where('kind', '=', 'checkout_payment').executeTakeFirstOrThrow()).tx_id;
    await tamper(sql`update ledger_transfers set amount_fen = amount_fen + 1 where tx_id = ${txId}`);
    try {
      const findings = await checkoutFindings(request.checkoutId);
      expect(findings).toEqual(expect.arrayContaining([
        expect.objectContaining({ kind: 'escrow_not_zero', account: escrow(request.checkoutId), message: expect.stringContaining('holds 1 fen') }),
        expect.objectContaining({ kind: 'money_differs_from_events', message: expect.stringContaining(`paid in ${TOTAL + 1n}`) }),
      ]));
    } finally {
      await tamper(sql`update ledger_transfers set amount_fen = amount_fen - 1 where tx_id = ${txId}`);
    }
    expect((await auditLedger(database.db, { recordCheckpoint: false })).discrepancies).toEqual([]);
  });

  test("F3/L6/C4: a checkout whose payment posting exceeds the sum of its lines' placements + boost fees — events, posting, hash and read model all agreeing (a pricing bug) — is reported: money_does_not_add_up and 1 fen left in escrow:checkout", async () => {
    // A worker that records the payment 1 fen above the lines' sum, consistently: only L6 can tell.
    const buggyQueue = `${taskQueue}-overcharge`;
    const buggy = await runningWorker(env, database.db, buggyQueue, (activities) => ({
      ...activities,
      async recordCheckoutEvents(input) {
        const events = input.events.map((e) => (e.event.type === 'CheckoutPaid' ? { ...e, event: { ...e.event, terms: { ...e.event.terms, totalFen: e.event.terms.totalFen + 1n } } } : e));
        return activities.recordCheckoutEvents({ ...input, events });
      },
    }));
    try {
      const request = await basket(TOTAL + 1n);
      await checkouts(buggyQueue).place(request);
      expect(await balances(database.db, { client: `client:${request.clientId}`, escrow: escrow(request.checkoutId) })).toEqual({ client: 0n, escrow: 1n });
      const findings = await checkoutFindings(request.checkoutId);
      expect(findings).toEqual(expect.arrayContaining([
        expect.objectContaining({ kind: 'escrow_not_zero', account: escrow(request.checkoutId), message: expect.stringContaining('holds 1 fen') }),
        expect.objectContaining({ kind: 'money_does_not_add_up', message: expect.stringContaining('(ledger)') }),
        expect.objectContaining({ kind: 'money_does_not_add_up', message: expect.stringContaining('(events)') }),
      ]));
      // Nothing else is wrong with it: its events, posting and row agree (no hash, E2 or L3 finding).
      expect(findings.map((f) => f.kind).sort()).toEqual(['escrow_not_zero', 'money_does_not_add_up', 'money_does_not_add_up']);
    } finally {
      await buggy.stop();
    }
  });

  test('F3/L6/C4: money moved out of escrow:checkout:{id} by a transaction posted by hand (a valid link of its hash chain) is reported: escrow_not_zero and money_differs_from_events naming the checkout', async () => {
    const request = await basket(TOTAL);
    await placed(request);
    const transfer = { debitAccount: escrow(request.checkoutId), creditAccount: `client:${request.clientId}`, amountFen: 1_000n };
    await database.db.transaction().execute((trx) => postLedgerTransaction(trx, { txId: `manual:${request.checkoutId}`, kind: 'manual_adjustment', orderId: null, transfers: [transfer] }, new Date()));
    const findings = await checkoutFindings(request.checkoutId);
    expect(findings).toEqual(expect.arrayContaining([
      expect.objectContaining({ kind: 'escrow_not_zero', account: escrow(request.checkoutId), message: expect.stringContaining('holds -1000 fen') }),
      expect.objectContaining({ kind: 'money_differs_from_events', message: expect.stringContaining('refunded 1000') }),
    ]));
  });
});
