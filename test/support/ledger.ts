import { accountBalance } from '../../db/ledger';
import type { Db } from '../../db/connect';

/** Balances (credits − debits, L1) of the accounts an order touches. */
export async function balances(db: Db, accounts: Record<string, string>): Promise<Record<string, bigint>> {
  const entries = await Promise.all(Object.entries(accounts).map(async ([name, account]) => [name, await accountBalance(db, account)] as const));
  return Object.fromEntries(entries);
}
