import type { Rejection } from '../errors';
import type { OrderKindDefinition } from '../order-kind';
import type { LedgerTransaction } from './types';

/**
 * F6/O4: what a command would do to the ledger if it were decided now, computed by the very code
 * the workflow runs: the kind's `decide`, then, event by event, `evolve` and `ledgerTransactionFor`
 * (activities/append-to-stream.ts does the same when it records the events). Nothing is recorded;
 * the console shows it before an operator confirms. The workflow decides again when the command
 * arrives, so a deadline firing in between may change the outcome: the result page shows what was
 * actually posted.
 */
export type PreviewKind<S, C, E> = Pick<OrderKindDefinition<S, C, E, string, string>, 'decide' | 'evolve' | 'ledgerTransactionFor'>;

/** One account's net change: credits − debits (L1), positive when the account receives money. */
export interface AccountChange {
  readonly account: string;
  readonly changeFen: bigint;
}

export type Preview<S, E> =
  | { readonly ok: false; readonly rejection: Rejection }
  | { readonly ok: true; readonly events: readonly E[]; readonly transactions: readonly LedgerTransaction[]; readonly changes: readonly AccountChange[]; readonly after: S };

export function previewCommand<S extends { readonly version: number }, C, E>(kind: PreviewKind<S, C, E>, state: S, command: C, nowMs: number): Preview<S, E> {
  const decision = kind.decide(state, command, nowMs);
  if (!decision.ok) return { ok: false, rejection: decision.rejection };
  let current = state;
  const transactions: LedgerTransaction[] = [];
  decision.events.forEach((event, i) => {
    const recorded = { version: state.version + i + 1, occurredAt: nowMs, event };
    const tx = kind.ledgerTransactionFor(current, recorded);
    if (tx) transactions.push(tx);
    current = kind.evolve(current, recorded);
  });
  return { ok: true, events: decision.events, transactions, changes: netChanges(transactions), after: current };
}

/** Each account's net change over `transactions`, in the order accounts first appear; zero nets are kept out. */
export function netChanges(transactions: readonly LedgerTransaction[]): AccountChange[] {
  const net = new Map<string, bigint>();
  for (const tx of transactions) {
    for (const t of tx.transfers) {
      net.set(t.debitAccount, (net.get(t.debitAccount) ?? 0n) - t.amountFen);
      net.set(t.creditAccount, (net.get(t.creditAccount) ?? 0n) + t.amountFen);
    }
  }
  return [...net].filter(([, fen]) => fen !== 0n).map(([account, changeFen]) => ({ account, changeFen }));
}
