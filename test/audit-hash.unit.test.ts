import fc from 'fast-check';
import { storedContentHash } from '../db/audit/audit';
import { ledgerContentHash } from '../db/audit/audit-hash';
import { jsonEqual, normalize, parseStoredJson, sameColumn } from '../db/audit/audit-order-checks';
import { canonicalJson } from '../db/hash';
import { transactionContentHash } from '../db/ledger';
import { fromStoredJson, storedJsonText } from '../domain/json';
import { DEFAULT_TASK_POLICY, placementEvent } from '../domain/task-order';

// The audit's fast paths (issue 11) must say exactly what the reference functions say: a
// difference would make the audit report tampering that is not there, or miss one that is.

const text = fc.string({ unit: 'binary', maxLength: 20 });
const storedTx = fc.record({
  tx_id: text,
  kind: text,
  order_id: fc.option(text, { nil: null }),
  external_payment_ref: fc.option(text, { nil: null }),
  occurred_at: fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }),
});
const storedTransfers = fc.array(fc.record({ debit_account: text, credit_account: text, amount_fen: fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }) }), { maxLength: 5 });

describe('F3/L4: the audit recomputes content hashes as the ledger computed them', () => {
  test('storedContentHash = transactionContentHash of the same rows, for any text and amount', () => {
    fc.assert(
      fc.property(storedTx, storedTransfers, (tx, transfers) => {
        const reference = transactionContentHash(
          {
            txId: tx.tx_id,
            kind: tx.kind,
            orderId: tx.order_id,
            transfers: transfers.map((t) => ({ debitAccount: t.debit_account, creditAccount: t.credit_account, amountFen: t.amount_fen })),
            ...(tx.external_payment_ref === null ? {} : { externalPaymentRef: tx.external_payment_ref }),
          },
          tx.occurred_at,
        );
        expect(storedContentHash(tx, transfers)).toBe(reference);
      }),
      { numRuns: 2000 },
    );
  });

  test('ledgerContentHash = transactionContentHash for the transactions the domain core builds', () => {
    fc.assert(
      fc.property(storedTx, storedTransfers, fc.boolean(), (tx, transfers, withRef) => {
        const built = {
          txId: tx.tx_id,
          kind: tx.kind,
          orderId: tx.order_id,
          transfers: transfers.map((t) => ({ debitAccount: t.debit_account, creditAccount: t.credit_account, amountFen: t.amount_fen })),
          ...(withRef && tx.external_payment_ref !== null ? { externalPaymentRef: tx.external_payment_ref } : {}),
        };
        expect(ledgerContentHash(built, tx.occurred_at)).toBe(transactionContentHash(built, tx.occurred_at));
      }),
      { numRuns: 2000 },
    );
  });

  test('a real placement posting hashes the same both ways', () => {
    const tx = { tx_id: 'task:o-1:v1:placement_payment', kind: 'placement_payment', order_id: 'o-1', external_payment_ref: 'pay-1', occurred_at: new Date('2026-12-01T08:00:00.123Z') };
    const transfers = [{ debit_account: 'external:payments', credit_account: 'escrow:task:o-1', amount_fen: 110_000n }];
    expect(storedContentHash(tx, transfers)).toBe(
      transactionContentHash(
        { txId: tx.tx_id, kind: tx.kind, orderId: tx.order_id, externalPaymentRef: 'pay-1', transfers: [{ debitAccount: 'external:payments', creditAccount: 'escrow:task:o-1', amountFen: 110_000n }] },
        tx.occurred_at,
      ),
    );
  });
});

describe('E2: the audit reads stored JSON as the application does', () => {
  const placement = {
    orderId: 'o-1',
    clientId: 'c-1',
    creatorId: 'k-1',
    taskType: 'douyin_video' as const,
    priceFen: 100_000n,
    brief: { title: '新品 "launch"', industry: 'beauty', expectedPublishAt: '2030-01-01T00:00:00.000Z' },
    paymentMode: 'full' as const,
    funding: { source: 'external' as const, paymentRef: 'pay-1' },
  };

  test('parseStoredJson(text) = fromStoredJson(JSON.parse(text)): bigint back for …Fen and …Bp keys only', () => {
    const stored = storedJsonText(placementEvent(placement, DEFAULT_TASK_POLICY));
    expect(parseStoredJson(stored)).toEqual(fromStoredJson(JSON.parse(stored)));
    const tricky = JSON.stringify({ amountFen: '12', ratioBp: '-3', notFen: 'x', nested: [{ feeFen: '007' }], priceFen: '1.5', label: '12' });
    expect(parseStoredJson(tricky)).toEqual(fromStoredJson(JSON.parse(tricky)));
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const json = JSON.stringify(value);
        expect(parseStoredJson(json)).toEqual(fromStoredJson(JSON.parse(json)));
      }),
    );
  });

  test('jsonEqual says what comparing canonical JSON texts says', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        const parsedA = JSON.parse(JSON.stringify(a)) as unknown;
        const parsedB = JSON.parse(JSON.stringify(b)) as unknown;
        expect(jsonEqual(parsedA, parsedB)).toBe(canonicalJson(parsedA) === canonicalJson(parsedB));
        expect(jsonEqual(parsedA, JSON.parse(canonicalJson(parsedA)))).toBe(true);
      }),
      { numRuns: 2000 },
    );
    expect(jsonEqual({ a: 1, b: [1, { c: null }] }, { b: [1, { c: null }], a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 1, b: null })).toBe(false);
    expect(jsonEqual({ a: 1, b: null }, { a: 1 })).toBe(false);
    expect(jsonEqual([1, 2], { 0: 1, 1: 2 })).toBe(false);
    expect(jsonEqual({ a: '1' }, { a: 1 })).toBe(false);
  });

  test('sameColumn says what comparing the normalized texts says, for every kind of value a row holds', () => {
    const instant = fc.date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2200-01-01T00:00:00Z'), noInvalidDate: true });
    const value = fc.oneof(
      fc.constant(null),
      fc.constant(undefined),
      fc.string({ maxLength: 6 }),
      instant.map((d) => d.toISOString()),
      instant,
      instant.map((d) => d.getTime()),
      fc.double(),
      fc.integer(),
      fc.bigInt({ min: -5n, max: 5n }),
      fc.boolean(),
    );
    fc.assert(
      fc.property(fc.constantFrom('status', 'version', 'placed_at', 'next_deadline_at'), value, value, (column, a, b) => {
        let same: boolean;
        try {
          same = normalize(column, a) === normalize(column, b);
        } catch {
          return; // a value no row holds there (a bigint as a timestamp)
        }
        expect(sameColumn(column, a, b)).toBe(same);
      }),
      { numRuns: 5000 },
    );
    const at = new Date('2026-12-01T08:00:00.123Z');
    expect(sameColumn('placed_at', at, at.getTime())).toBe(true);
    expect(sameColumn('placed_at', at.toISOString(), at.getTime())).toBe(true);
    expect(sameColumn('placed_at', at, at.getTime() + 1)).toBe(false);
    expect(sameColumn('price_fen', 5n, 5)).toBe(false);
  });
});
