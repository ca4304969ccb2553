import type { Db } from './connect';

/** One order's ledger transactions, as ops (O2) and the console's refund pages (F5) read them. */

/**
 * O2: an order's ledger transactions in order, and their transfers. `txPrefix` is its kind's (L3):
 * a task order, a boost order and a checkout may share an id, and order_id alone would mix them.
 */
export async function orderLedger(db: Db, orderId: string, txPrefix: string) {
  const transactions = await db
    .selectFrom('ledger_transactions')
    .select(['tx_id', 'seq', 'kind', 'occurred_at', 'external_payment_ref', 'chain_hash'])
    .where('order_id', '=', orderId)
    .where('tx_id', 'like', `${txPrefix.replace(/[\\%_]/g, '\\$&')}%`)
    .orderBy('seq')
    .execute();
  const transfers = transactions.length
    ? await db.selectFrom('ledger_transfers').selectAll().where('tx_id', 'in', transactions.map((t) => t.tx_id)).orderBy('tx_id').orderBy('transfer_index').execute()
    : [];
  return { transactions, transfers };
}

/** The seq of the order's latest ledger transaction (0: none yet). */
export async function lastLedgerSeq(db: Db, orderId: string): Promise<number> {
  const row = await db.selectFrom('ledger_transactions').select((eb) => eb.fn.max('seq').as('seq')).where('order_id', '=', orderId).executeTakeFirst();
  return row?.seq === null || row?.seq === undefined ? 0 : Number(row.seq);
}

/** The order's ledger transactions after `seq` in order, and their transfers. */
export async function ledgerTransactionsAfter(db: Db, orderId: string, seq: number) {
  const txs = await db.selectFrom('ledger_transactions').select(['tx_id', 'seq', 'kind', 'occurred_at']).where('order_id', '=', orderId).where('seq', '>', BigInt(seq)).orderBy('seq').execute();
  if (txs.length === 0) return { txs, transfers: [] };
  const transfers = await db.selectFrom('ledger_transfers').selectAll().where('tx_id', 'in', txs.map((t) => t.tx_id)).orderBy('transfer_index').execute();
  return { txs, transfers };
}
