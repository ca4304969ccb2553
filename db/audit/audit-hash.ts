import { createHash, hash } from 'node:crypto';
import type { LedgerTransaction } from '../../domain/ledger/types';

/**
 * L4 at audit speed: the content hash of a ledger transaction, exactly db/ledger.ts
 * transactionContentHash — sha256 of the canonical JSON (keys sorted, amounts as decimal strings) —
 * written out for its six fields instead of sorting keys generically (several times faster, and
 * the audit computes one per stored transaction and one per transaction the events imply).
 * test/audit-hash.unit.test.ts holds the two equal for any text and amount.
 */
export function contentHash(
  txId: string,
  kind: string,
  orderId: string | null,
  externalPaymentRef: string | null | undefined,
  occurredAt: Date,
  transfers: ReadonlyArray<readonly [debit: string, credit: string, amountFen: bigint]>,
): string {
  let list = '';
  for (const [debit, credit, amount] of transfers) list += `${list === '' ? '' : ','}[${JSON.stringify(debit)},${JSON.stringify(credit)},"${amount}"]`;
  // Keys in sorted order: externalPaymentRef, kind, occurredAt, orderId, transfers, txId.
  return sha256Hex(
    `{"externalPaymentRef":${JSON.stringify(externalPaymentRef ?? null)},"kind":${JSON.stringify(kind)},"occurredAt":${JSON.stringify(occurredAt.toISOString())},` +
      `"orderId":${JSON.stringify(orderId)},"transfers":[${list}],"txId":${JSON.stringify(txId)}}`,
  );
}

/** contentHash of a transaction as the domain core builds it (what an event implies). */
export function ledgerContentHash(tx: LedgerTransaction, occurredAt: Date): string {
  return contentHash(
    tx.txId,
    tx.kind,
    tx.orderId,
    tx.externalPaymentRef,
    occurredAt,
    tx.transfers.map((t) => [t.debitAccount, t.creditAccount, t.amountFen] as const),
  );
}

/** sha256 of the UTF-8 of `text`, in hex (crypto.hash, one call, where Node.js has it: Node ≥ 20.12). */
export const sha256Hex: (text: string) => string =
  typeof hash === 'function' ? (text) => hash('sha256', text, 'hex') : (text) => createHash('sha256').update(text).digest('hex');
