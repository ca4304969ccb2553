import { nextDeadline, pendingDeadlines } from './deadlines';
import { CLIENT, CREATOR, DAY, HOUR, Story, T0, codeOf, eventsOf } from './testing';

const EXPECTED_PUBLISH = T0 + 30 * DAY;
const kinds = (story: Story) => pendingDeadlines(story.state).map((d) => [d.kind, d.atMs]);

describe('pending deadlines per state (O2: what will happen when)', () => {
  test('T6/T19: awaiting acceptance: acceptance at +24 h, then publish_overdue at the brief\'s time', () => {
    const placed = Story.placed();
    expect(kinds(placed)).toEqual([
      ['acceptance', T0 + 24 * HOUR],
      ['publish_overdue', EXPECTED_PUBLISH],
    ]);
    expect(nextDeadline(placed.state)).toMatchObject({ kind: 'acceptance', consequence: expect.stringContaining('not_accepted_in_time') });
  });

  test('T12/T13: awaiting the balance: balance at acceptance + exactly 7 × 24 h', () => {
    const accepted = Story.placed({ paymentMode: 'deposit' }).run({ type: 'accept', actor: CREATOR }, T0 + 5 * HOUR);
    expect(kinds(accepted)).toEqual([
      ['balance', T0 + 5 * HOUR + 7 * DAY],
      ['publish_overdue', EXPECTED_PUBLISH],
    ]);
    expect(nextDeadline(accepted.state)?.consequence).toContain('forfeited');
  });

  test('T15: in production (full mode) only publish_overdue remains', () => {
    expect(kinds(Story.placed().run({ type: 'accept', actor: CREATOR }, T0 + HOUR))).toEqual([['publish_overdue', EXPECTED_PUBLISH]]);
  });

  test('T17/T22: in review with a pending request: review, cancellation_answer and publish_overdue', () => {
    const story = Story.placed()
      .run({ type: 'accept', actor: CREATOR }, T0 + HOUR)
      .run({ type: 'upload_video', actor: CREATOR, draftId: 'd' }, T0 + DAY)
      .run({ type: 'cancel', actor: CREATOR }, T0 + 2 * DAY);
    expect(kinds(story)).toEqual([
      ['cancellation_answer', T0 + 5 * DAY],
      ['review', T0 + 8 * DAY],
      ['publish_overdue', EXPECTED_PUBLISH],
    ]);
  });

  test('T19: an expected publish time before the other deadlines comes first', () => {
    const soon = Story.placed({ brief: { title: 't', industry: 'i', expectedPublishAt: new Date(T0 + 2 * HOUR).toISOString() } });
    expect(nextDeadline(soon.state)).toMatchObject({ kind: 'publish_overdue', atMs: T0 + 2 * HOUR });
    const flagged = soon.run({ type: 'publish_overdue_deadline' }, T0 + 2 * HOUR);
    expect(flagged.state.status).toBe('awaiting_acceptance'); // nothing is cancelled
    expect(nextDeadline(flagged.state)?.kind).toBe('acceptance');
  });

  test('T6/T7/T11/T13/T18: a terminal order has no pending deadline', () => {
    expect(pendingDeadlines(Story.placed().run({ type: 'reject', actor: CREATOR }, T0).state)).toEqual([]);
    expect(pendingDeadlines(Story.placed().run({ type: 'cancel', actor: CLIENT }, T0).state)).toEqual([]);
  });

  test('§1: a deadline command is a no-op (ok, no events) when its time has not come', () => {
    const placed = Story.placed();
    for (const type of ['acceptance_deadline', 'balance_deadline', 'review_deadline', 'cancellation_answer_deadline', 'publish_overdue_deadline'] as const) {
      expect(eventsOf(placed.when({ type }, T0 + HOUR))).toEqual([]);
    }
  });

  test('§1: the race — an action processed before its deadline wins; after the deadline fired it is deadline_passed', () => {
    const placed = Story.placed();
    const accepted = placed.run({ type: 'accept', actor: CREATOR }, T0 + 24 * HOUR - 1);
    expect(eventsOf(accepted.when({ type: 'acceptance_deadline' }, T0 + 24 * HOUR))).toEqual([]);
    const expired = placed.run({ type: 'acceptance_deadline' }, T0 + 24 * HOUR);
    expect(codeOf(expired.when({ type: 'accept', actor: CREATOR }, T0 + 24 * HOUR))).toBe('deadline_passed');
  });
});
