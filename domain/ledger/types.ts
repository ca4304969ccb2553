/** L1: a transfer debits one account and credits another with the same positive amount. */
export interface Transfer {
  readonly debitAccount: string;
  readonly creditAccount: string;
  readonly amountFen: bigint;
}

/** L1/L3: an atomic set of transfers under a deterministic idempotency key. */
export interface LedgerTransaction {
  readonly txId: string;
  readonly kind: string;
  readonly orderId: string | null; // null for movements outside any order (top-ups)
  readonly transfers: readonly Transfer[];
  readonly externalPaymentRef?: string; // L5: never used twice
}

/** Drops zero amounts, so an outcome that moves nothing posts no transfer. */
export function transfers(...candidates: Transfer[]): Transfer[] {
  return candidates.filter((t) => {
    if (t.amountFen < 0n) throw new RangeError(`negative transfer ${t.debitAccount} → ${t.creditAccount}`);
    return t.amountFen > 0n;
  });
}
