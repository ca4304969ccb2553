import fc from 'fast-check';
import { fromStoredJson, toStoredJson } from '../json';
import { decide } from './decide';
import { pendingDeadlines } from './deadlines';
import { evolve, isTerminal } from './evolve';
import { ledgerTransactionFor } from './ledger';
import { notificationsFor } from './notifications';
import { CLIENT, CREATOR, DAY, HOUR, OTHER_CLIENT, Story, T0, codeOf, given, ledgerBalances } from './testing';
import { TASK_DEADLINE_KINDS, type DeadlineCommand, type RecordedTaskEvent, type TaskCommand, type TaskDeadlineKind, type TaskOrderState } from './types';

const deadlineCommand = (kind: TaskDeadlineKind) => ({ type: `${kind}_deadline` }) as DeadlineCommand;

/** What the workflow does: at each pending deadline's time, run its command (earliest first). */
function fireDueDeadlines(story: Story, untilMs: number): Story {
  let current = story;
  for (;;) {
    if (isTerminal(current.state)) return current;
    const next = pendingDeadlines(current.state)[0];
    if (!next || next.atMs > untilMs) return current;
    const decision = decide(current.state, deadlineCommand(next.kind), next.atMs);
    if (!decision.ok || decision.events.length === 0) throw new Error(`pending deadline ${next.kind} produced nothing at its time`);
    current = current.record(decision.events, Math.max(next.atMs, current.now));
  }
}

/**
 * Every command the parties, ops and timers could send, with a few variations; the ones that move
 * an order forward first, since small picks are the most frequent.
 */
const ALL_COMMANDS: readonly TaskCommand[] = [
  { type: 'accept', actor: CREATOR },
  { type: 'pay_balance', actor: CLIENT, funding: { source: 'account' } },
  { type: 'upload_video', actor: CREATOR, draftId: 'd' },
  { type: 'review', actor: CLIENT, decision: 'approve' },
  { type: 'publish', actor: CREATOR, videoId: 'v', publishedAt: '2025-09-20T00:00:00Z' },
  { type: 'cancel_response', actor: CLIENT, accept: true },
  { type: 'cancel_response', actor: CREATOR, accept: true },
  { type: 'arbitrate', operator: 'ops-1', decision: 'confirm', reason: 'r' },
  ...[80_000n, 119_998n, 79_999n, 9_000n, 12_000n].map((newPriceFen) => ({ type: 'accept' as const, actor: CREATOR, newPriceFen })),
  { type: 'restore_price', actor: CLIENT },
  { type: 'review', actor: CLIENT, decision: 'request_changes' },
  { type: 'cancel', actor: CLIENT, reason: 'because' },
  { type: 'cancel', actor: CREATOR },
  { type: 'cancel_response', actor: CLIENT, accept: false },
  { type: 'cancel_response', actor: CREATOR, accept: false },
  { type: 'arbitrate', operator: 'ops-1', decision: 'decline', reason: 'r' },
  { type: 'pay_balance', actor: CLIENT, funding: { source: 'external', paymentRef: 'p' } },
  { type: 'remind', actor: CLIENT },
  { type: 'reject', actor: CREATOR, reason: 'busy' },
  { type: 'accept', actor: CLIENT },
  { type: 'cancel', actor: OTHER_CLIENT },
  { type: 'upload_video', actor: CLIENT, draftId: 'd' },
  ...TASK_DEADLINE_KINDS.map(deadlineCommand),
];

/** Mostly a command that succeeds now (so histories go deep), sometimes any command at all. */
const step = fc.record({
  advanceMs: fc.oneof(
    { weight: 12, arbitrary: fc.integer({ min: 0, max: 6 * HOUR }) },
    { weight: 2, arbitrary: fc.integer({ min: 6 * HOUR, max: 3 * DAY }) },
    { weight: 1, arbitrary: fc.integer({ min: 3 * DAY, max: 12 * DAY }) },
  ),
  pick: fc.oneof({ weight: 3, arbitrary: fc.nat({ max: 2 }) }, { weight: 2, arbitrary: fc.nat() }),
  anyCommand: fc.nat({ max: 9 }).map((n) => n < 2),
});
const scenario = fc.record({
  paymentMode: fc.constantFrom('full' as const, 'deposit' as const),
  priceFen: fc.oneof(fc.constant(99_999n), fc.constant(12_345n), fc.bigInt(1n, 10_000_000n)),
  expectedPublishInDays: fc.integer({ min: 0, max: 40 }),
  steps: fc.array(step, { minLength: 1, maxLength: 40 }),
});

function checkInvariants(events: readonly RecordedTaskEvent[], state: TaskOrderState): void {
  const balances = ledgerBalances(events);
  // L1: balanced; the escrow holds exactly what the state says.
  expect(Object.values(balances).reduce((a, b) => a + b, 0n)).toBe(0n);
  expect(balances['escrow:task:order-1'] ?? 0n).toBe(state.paidInFen);
  expect(state.paidInFen >= 0n).toBe(true);
  // The state travels as JSON (Temporal, read models): amounts end in Fen, rates in Bp, nothing is lost.
  expect(fromStoredJson(toStoredJson(state))).toEqual(state);
  for (const recorded of events) expect(fromStoredJson(toStoredJson(recorded))).toEqual(recorded);
  if (isTerminal(state)) {
    // L6
    const s = state.settlement!;
    expect(state.paidInFen).toBe(0n);
    expect(s.refundFen + s.creatorFen + s.serviceFeeFen + s.forfeitedFen).toBe(state.clientPaidFen);
    expect(pendingDeadlines(state)).toEqual([]);
  }
  // Deadlines and their commands agree: a pending one fires at its time and not 1 ms before;
  // a kind that is not pending is a no-op whenever it runs.
  const pending = pendingDeadlines(state);
  for (const d of pending) {
    const at = decide(state, deadlineCommand(d.kind), d.atMs);
    expect(at.ok && at.events.length > 0).toBe(true);
    const early = decide(state, deadlineCommand(d.kind), d.atMs - 1);
    expect(early).toEqual({ ok: true, events: [] });
  }
  for (const kind of TASK_DEADLINE_KINDS.filter((k) => !pending.some((d) => d.kind === k))) {
    expect(decide(state, deadlineCommand(kind), state.updatedAt + 400 * DAY)).toEqual({ ok: true, events: [] });
  }
}

describe('invariants over random histories (fast-check)', () => {
  test('L1/L6/§1: ledger balanced, escrow = paidInFen ≥ 0, terminal escrow 0, JSON round trip, deadlines consistent', () => {
    fc.assert(
      fc.property(scenario, ({ paymentMode, priceFen, expectedPublishInDays, steps }) => {
        const expectedPublishAt = new Date(T0 + expectedPublishInDays * DAY).toISOString();
        let story = Story.placed({ paymentMode, priceFen, brief: { title: 't', industry: 'i', expectedPublishAt } });
        let now = T0;
        for (const { advanceMs, pick, anyCommand } of steps) {
          now += advanceMs;
          story = fireDueDeadlines(story, now);
          const current = story;
          const succeeding = ALL_COMMANDS.filter((c) => codeOf(current.when(c, now)) === 'ok');
          const pool = anyCommand || succeeding.length === 0 ? ALL_COMMANDS : succeeding;
          const cmd = pool[pick % pool.length]!;
          const decision = story.when(cmd, now);
          if (decision.ok) {
            story = story.record(decision.events, now);
            // Every event has its notifications and ledger effects computable.
            let state: TaskOrderState | undefined;
            for (const recorded of story.events) {
              ledgerTransactionFor(state, recorded);
              state = evolve(state, recorded);
              notificationsFor(state, recorded);
            }
          }
          checkInvariants(story.events, story.state);
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe('compatibility', () => {
  test('E1: histories recorded before T10–T23 existed still fold (same event shapes)', () => {
    const legacy: RecordedTaskEvent[] = [
      {
        version: 1,
        occurredAt: T0,
        event: {
          type: 'TaskOrderPlaced',
          placement: Story.placed().state.placement,
          policy: Story.placed().state.policy,
          serviceFeeFen: 10_000n,
          paidFen: 109_999n,
        },
      },
      { version: 2, occurredAt: T0 + HOUR, event: { type: 'CreatorReminded', by: CLIENT } },
      { version: 3, occurredAt: T0 + 2 * HOUR, event: { type: 'TaskOrderAccepted', by: CREATOR, priceFen: 99_999n, serviceFeeFen: 10_000n, previousPriceFen: 99_999n } },
    ];
    const state = given(legacy);
    expect(state).toMatchObject({ status: 'in_production', uploads: 0, priceChanged: false, clientPaidFen: 109_999n, depositFen: 0n, publishOverdue: false });
    expect(pendingDeadlines(state).map((d) => d.kind)).toEqual(['publish_overdue']);
  });

  test('E1/§1: events read back from stored JSON (policy rates as …Bp) still decide T9, T10 and T20 money exactly', () => {
    const story = Story.placed({ paymentMode: 'deposit' })
      .run({ type: 'accept', actor: CREATOR, newPriceFen: 119_998n }, T0 + HOUR)
      .run({ type: 'restore_price', actor: CLIENT }, T0 + 2 * HOUR)
      .run({ type: 'pay_balance', actor: CLIENT, funding: { source: 'account' } }, T0 + 3 * HOUR)
      .run({ type: 'upload_video', actor: CREATOR, draftId: 'd' }, T0 + DAY)
      .run({ type: 'cancel', actor: CLIENT }, T0 + 2 * DAY);
    const stored = fromStoredJson<RecordedTaskEvent[]>(toStoredJson(story.events));
    const state = given(stored);
    expect(state.policy.serviceFeeBp).toBe(1000n);
    expect(decide(state, { type: 'cancel_response', actor: CREATOR, accept: true }, T0 + 3 * DAY)).toEqual(
      decide(story.state, { type: 'cancel_response', actor: CREATOR, accept: true }, T0 + 3 * DAY),
    );
  });
});
