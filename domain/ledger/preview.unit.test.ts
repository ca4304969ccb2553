import { previewBoostCommand } from '../boost/preview';
import { BoostStory, boostLedgerBalances } from '../boost/testing';
import { previewTaskCommand } from '../task-order/preview';
import { CREATOR, DAY, HOUR, Story, T0, ledgerBalances } from '../task-order/testing';
import type { TaskCommand } from '../task-order/types';
import { netChanges } from './preview';

/** F6/O4: the console's preview is the decider's own outcome, posted nowhere. */
const diff = (before: Record<string, bigint>, after: Record<string, bigint>) =>
  Object.fromEntries(
    [...new Set([...Object.keys(before), ...Object.keys(after)])]
      .map((a) => [a, (after[a] ?? 0n) - (before[a] ?? 0n)] as const)
      .filter(([, v]) => v !== 0n),
  );

const uploaded = Story.placed()
  .run({ type: 'accept', actor: CREATOR }, T0 + HOUR)
  .run({ type: 'upload_video', actor: CREATOR, draftId: 'd1' }, T0 + DAY);

describe('O4 preview of a task order command', () => {
  test('given an uploaded order, when ops preview creator_compensation (T20), then every account gets what running the command posts', () => {
    const command: TaskCommand = { type: 'ops_cancel', operator: 'alice', outcome: 'creator_compensation', reason: 'dispute' };
    const preview = previewTaskCommand(uploaded.state, command, T0 + 2 * DAY);
    if (!preview.ok) throw new Error(preview.rejection.message);
    const ran = uploaded.run(command, T0 + 2 * DAY);
    expect(Object.fromEntries(preview.changes.map((c) => [c.account, c.changeFen]))).toEqual(diff(ledgerBalances(uploaded.events), ledgerBalances(ran.events)));
    expect(Object.fromEntries(preview.changes.map((c) => [c.account, c.changeFen]))).toEqual({
      'escrow:task:order-1': -109_999n,
      'client:client-1': 54_999n,
      'creator:creator-1': 50_000n,
      'platform:service_fees': 5_000n,
    });
    expect(preview.after.status).toBe('cancelled');
    expect(preview.transactions.map((t) => t.txId)).toEqual([`task:order-1:v${uploaded.state.version + 1}:cancellation_settlement`]);
  });

  test('given an order before an upload, when ops preview creator_compensation, then the decider\'s refusal is the preview (nothing moves)', () => {
    const accepted = Story.placed().run({ type: 'accept', actor: CREATOR }, T0 + HOUR);
    const preview = previewTaskCommand(accepted.state, { type: 'ops_cancel', operator: 'alice', outcome: 'creator_compensation', reason: 'r' }, T0 + DAY);
    expect(preview.ok ? 'ok' : preview.rejection.code).toBe('invalid_state');
  });

  test('given an order, when ops preview a full refund (T11-like), then the whole escrow goes back to the client', () => {
    const preview = previewTaskCommand(uploaded.state, { type: 'ops_cancel', operator: 'alice', outcome: 'full_refund', reason: 'r' }, T0 + 2 * DAY);
    if (!preview.ok) throw new Error(preview.rejection.message);
    expect(preview.changes).toEqual([
      { account: 'escrow:task:order-1', changeFen: -109_999n },
      { account: 'client:client-1', changeFen: 109_999n },
    ]);
  });
});

describe('F5 preview of an early refund release', () => {
  test('given a scheduled refund (B6, B7), when finance preview its release, then the client gets the compensation from the boost escrow', () => {
    const scheduled = BoostStory.ordered().published().periodEnded().evaluated(6_000);
    const command = { type: 'release_refund', by: { type: 'finance', id: 'fin-1' }, reason: 'early' } as const;
    const preview = previewBoostCommand(scheduled.state, command, scheduled.now + HOUR);
    if (!preview.ok) throw new Error(preview.rejection.message);
    const ran = scheduled.run(command, scheduled.now + HOUR);
    expect(Object.fromEntries(preview.changes.map((c) => [c.account, c.changeFen]))).toEqual(diff(boostLedgerBalances(scheduled.events), boostLedgerBalances(ran.events)));
    expect(preview.changes.find((c) => c.account === 'client:client-1')?.changeFen).toBe(scheduled.state.refund?.amountFen);
  });

  test('given no scheduled refund, the release preview is the refusal', () => {
    const preview = previewBoostCommand(BoostStory.ordered().state, { type: 'release_refund', by: { type: 'ops', id: 'o' } }, Date.now());
    expect(preview.ok ? 'ok' : preview.rejection.code).toBe('invalid_state');
  });
});

test('netChanges: credits − debits per account, zero nets left out', () => {
  expect(
    netChanges([
      { txId: 'a', kind: 'k', orderId: null, transfers: [{ debitAccount: 'x', creditAccount: 'y', amountFen: 5n }, { debitAccount: 'y', creditAccount: 'x', amountFen: 5n }, { debitAccount: 'x', creditAccount: 'z', amountFen: 2n }] },
    ]),
  ).toEqual([
    { account: 'x', changeFen: -2n },
    { account: 'z', changeFen: 2n },
  ]);
});
