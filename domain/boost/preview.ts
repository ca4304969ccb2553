import { previewCommand, type Preview } from '../ledger/preview';
import { decideBoost } from './decide';
import { evolveBoost } from './evolve';
import { boostLedgerTransactionFor } from './ledger';
import type { BoostCommand, BoostEvent, BoostOrderState } from './types';

/** F5 preview (F6): what a boost command (an early refund release) would post if decided at `nowMs`. */
export function previewBoostCommand(state: BoostOrderState, command: BoostCommand, nowMs: number): Preview<BoostOrderState, BoostEvent> {
  return previewCommand({ decide: decideBoost, evolve: evolveBoost, ledgerTransactionFor: boostLedgerTransactionFor }, state, command, nowMs);
}
