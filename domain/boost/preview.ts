import { previewCommand, type Preview } from '../ledger/preview';
import { BOOST_ORDER_KIND } from './kind';
import type { BoostCommand, BoostEvent, BoostOrderState } from './types';

/** F5 preview (F6): what a boost command (an early refund release) would post if decided at `nowMs`. */
export function previewBoostCommand(state: BoostOrderState, command: BoostCommand, nowMs: number): Preview<BoostOrderState, BoostEvent> {
  return previewCommand(BOOST_ORDER_KIND, state, command, nowMs);
}
