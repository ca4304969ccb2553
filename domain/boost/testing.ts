/**
 * Given/when/then helpers for the unit tests of the boost-order core (test-only; nothing in the
 * application imports this module). A `BoostStory` is an event history built by running commands
 * through `decideBoost`, so every "given" is a history the real decider can produce.
 */
import type { Rejection, RejectionCode } from '../errors';
import { CN_BUSINESS_CALENDAR } from './calendar-data';
import type { BusinessCalendar } from './business-days';
import { boostOrderedEvent, decideBoost, type BoostDecision } from './decide';
import { evolveBoost, foldBoost } from './evolve';
import { boostLedgerTransactionFor } from './ledger';
import { DEFAULT_BOOST_POLICY, type BoostPolicy } from './policy';
import type { BoostCommand, BoostEvent, BoostOrderState, BoostTermsSnapshot, RecordedBoostEvent } from './types';

export const HOUR = 60 * 60 * 1000;
export const DAY = 24 * HOUR;
/** 2025-09-01 10:00 Asia/Shanghai. */
export const B0 = Date.parse('2025-09-01T02:00:00.000Z');
export const CALENDAR: BusinessCalendar = CN_BUSINESS_CALENDAR;

export const BOOST_ID = 'boost-1';

/** A 100000-fen task, 24% premium: fee 24000, V = 10000 (12.4 fen per missing view). */
export function termsOf(overrides: Partial<BoostTermsSnapshot> = {}): BoostTermsSnapshot {
  return {
    boostOrderId: BOOST_ID,
    taskOrderId: 'order-1',
    clientId: 'client-1',
    creatorId: 'creator-1',
    quoteId: 'quote-1',
    priceFen: 100_000n,
    boostFeeFen: 24_000n,
    expectedViews: 10_000,
    premiumBp: 2400n,
    funding: { source: 'account' },
    ...overrides,
  };
}

export class BoostStory {
  private constructor(readonly events: readonly RecordedBoostEvent[]) {}

  static ordered(overrides: Partial<BoostTermsSnapshot> = {}, atMs = B0, policy: BoostPolicy = DEFAULT_BOOST_POLICY): BoostStory {
    return new BoostStory([{ version: 1, occurredAt: atMs, event: boostOrderedEvent(termsOf(overrides), atMs, policy) }]);
  }

  get state(): BoostOrderState {
    const state = foldBoost(this.events);
    if (!state) throw new Error('no events');
    return state;
  }

  get now(): number {
    return this.events[this.events.length - 1]?.occurredAt ?? B0;
  }

  when(command: BoostCommand, atMs: number): BoostDecision {
    return decideBoost(this.state, command, atMs);
  }

  run(command: BoostCommand, atMs: number): BoostStory {
    const decision = this.when(command, atMs);
    if (!decision.ok) throw new Error(`${command.type} was rejected: ${decision.rejection.code} ${decision.rejection.message}`);
    return this.record(decision.events, atMs);
  }

  record(events: readonly BoostEvent[], atMs: number): BoostStory {
    const base = this.events.length;
    return new BoostStory([...this.events, ...events.map((event, i) => ({ version: base + i + 1, occurredAt: atMs, event }))]);
  }

  since(other: BoostStory): BoostEvent[] {
    return this.events.slice(other.events.length).map((r) => r.event);
  }

  // ── common steps ──────────────────────────────────────────────────────────────────────────
  published(atMs = this.now + DAY, videoId = 'video-1'): BoostStory {
    return this.run({ type: 'video_published', videoId, publishedAtMs: atMs }, atMs);
  }

  periodEnded(): BoostStory {
    const endsAt = this.state.boostEndsAtMs;
    if (endsAt === undefined) throw new Error('not boosting');
    return this.run({ type: 'boost_period_deadline' }, endsAt);
  }

  evaluated(actualViews: number, atMs = this.now, calendar = CALENDAR): BoostStory {
    return this.run({ type: 'evaluate', actualViews, calendar }, atMs);
  }

  refundDue(): BoostStory {
    const due = this.state.refund?.dueAtMs;
    if (due === undefined) throw new Error('no refund scheduled');
    return this.run({ type: 'refund_deadline' }, due);
  }
}

export function eventsOf(decision: BoostDecision): readonly BoostEvent[] {
  if (!decision.ok) throw new Error(`expected events, got ${decision.rejection.code}: ${decision.rejection.message}`);
  return decision.events;
}

export function rejectionOf(decision: BoostDecision): Rejection {
  if (decision.ok) throw new Error(`expected a rejection, got events ${decision.events.map((e) => e.type).join(', ') || '(none)'}`);
  return decision.rejection;
}

export function codeOf(decision: BoostDecision): RejectionCode | 'ok' {
  return decision.ok ? 'ok' : decision.rejection.code;
}

/** L1/L6: every account's balance after posting each event's ledger transaction (zeros left out). */
export function boostLedgerBalances(events: readonly RecordedBoostEvent[]): Record<string, bigint> {
  const balances = new Map<string, bigint>();
  let state: BoostOrderState | undefined;
  for (const recorded of events) {
    const tx = boostLedgerTransactionFor(state, recorded);
    state = evolveBoost(state, recorded);
    for (const t of tx?.transfers ?? []) {
      if (t.amountFen <= 0n) throw new Error(`non-positive transfer in ${tx?.txId}`);
      balances.set(t.debitAccount, (balances.get(t.debitAccount) ?? 0n) - t.amountFen);
      balances.set(t.creditAccount, (balances.get(t.creditAccount) ?? 0n) + t.amountFen);
    }
  }
  return Object.fromEntries([...balances].filter(([, v]) => v !== 0n).sort(([a], [b]) => a.localeCompare(b)));
}
