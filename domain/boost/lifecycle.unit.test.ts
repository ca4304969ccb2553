import { fromStoredJson, toStoredJson } from '../json';
import { Story as TaskStory, CREATOR as TASK_CREATOR, T0 } from '../task-order/testing';
import { calendarFromRows } from './business-days';
import { decideBoostOrder, type BoostOrderContext, type BoostOrderRequest, type CitedQuote } from './decide';
import { pendingBoostDeadlines } from './deadlines';
import { foldBoost } from './evolve';
import { boostLedgerTransactionFor } from './ledger';
import { quoteBoost } from './pricing';
import { BoostStory, B0, CALENDAR, DAY, HOUR, codeOf, eventsOf, rejectionOf } from './testing';

describe('B3 ordering a boost', () => {
  const NOW = T0 + HOUR;
  const task = TaskStory.placed({ priceFen: 100_000n }).state; // awaiting acceptance, douyin_video, client-1 / creator-1
  const videos = [100, 200, 300].map((views, i) => ({ videoId: `v${i}`, publishedAt: new Date(NOW - 15 * DAY).toISOString(), views }));
  const quote: CitedQuote = { ...quoteBoost({ creatorId: 'creator-1', priceFen: 100_000n, videos, optedOut: false, nowMs: NOW }), quoteId: 'quote-1' };
  const request: BoostOrderRequest = { boostOrderId: 'boost-1', taskOrderId: 'order-1', clientId: 'client-1', quoteId: 'quote-1', funding: { source: 'account' } };
  const context: BoostOrderContext = { task, quote };

  test('B3/B4: a valid order records the quoted terms, the policy and the validity (one calendar month)', () => {
    const [event] = eventsOf(decideBoostOrder(request, context, NOW + 10 * 60_000));
    expect(event).toMatchObject({
      type: 'BoostOrdered',
      boostOrderId: 'boost-1',
      taskOrderId: 'order-1',
      clientId: 'client-1',
      creatorId: 'creator-1',
      quoteId: 'quote-1',
      priceFen: 100_000n,
      boostFeeFen: 24_000n,
      expectedViews: 200,
      premiumBp: 2400n,
      funding: { source: 'account' },
      // Ordered 2025-09-01 09:10 Asia/Shanghai → valid until the same time one calendar month later.
      validUntilMs: Date.parse('2025-10-01T09:10:00.000+08:00'),
    });
  });

  test('B1: the quote is valid until 30 minutes after it was made, then deadline_passed', () => {
    expect(codeOf(decideBoostOrder(request, context, NOW + 30 * 60_000 - 1))).toBe('ok');
    expect(codeOf(decideBoostOrder(request, context, NOW + 30 * 60_000))).toBe('deadline_passed');
  });

  test.each<[string, BoostOrderRequest, Partial<BoostOrderContext>, string]>([
    ['an unknown task order', request, { task: undefined }, 'not_found'],
    ['another client', { ...request, clientId: 'client-2' }, {}, 'forbidden'],
    ['a live-stream task (no video)', request, { task: TaskStory.placed({ priceFen: 100_000n, taskType: 'douyin_live' }).state }, 'invalid_state'], // §8: 409, a rule refuses a well-formed request
    ['a terminal task', request, { task: TaskStory.placed({ priceFen: 100_000n }).run({ type: 'reject', actor: TASK_CREATOR }, NOW).state }, 'invalid_state'],
    ['a task that already has a boost', request, { existingBoostOrderId: 'boost-0' }, 'invalid_state'],
    ['an unknown quote', { ...request, quoteId: 'quote-9' }, {}, 'not_found'],
    ['a quote for another creator', request, { quote: { ...quote, creatorId: 'creator-2' } }, 'invalid_state'], // §8: 409, a rule refuses a well-formed request
    ['a quote for another price', request, { task: TaskStory.placed({ priceFen: 100_001n }).state }, 'invalid_state'], // §8: 409, a rule refuses a well-formed request
    ['an unavailable quote', request, { quote: { ...quoteBoost({ creatorId: 'creator-1', priceFen: 100_000n, videos, optedOut: true, nowMs: NOW }), quoteId: 'quote-1' } }, 'invalid_state'], // §8: 409, a rule refuses a well-formed request
    ['an external payment without a reference', { ...request, funding: { source: 'external', paymentRef: '' } }, {}, 'validation_failed'],
  ])('B3: rejects %s', (_name, req, overrides, code) => {
    expect(codeOf(decideBoostOrder(req, { ...context, ...overrides }, NOW))).toBe(code);
  });

  test('B3: ordering again with the same boostOrderId is not "a second boost" (idempotent retry)', () => {
    expect(codeOf(decideBoostOrder(request, { ...context, existingBoostOrderId: 'boost-1' }, NOW))).toBe('ok');
  });
});

describe('B4 validity: publication within one calendar month', () => {
  const ordered = BoostStory.ordered({}, Date.parse('2025-01-31T02:00:00Z')); // Jan 31 10:00 Shanghai

  test('B4: Jan 31 → valid until Feb 28 at the same wall-clock time', () => {
    expect(new Date(ordered.state.validUntilMs).toISOString()).toBe('2025-02-28T02:00:00.000Z');
    expect(pendingBoostDeadlines(ordered.state)).toEqual([{ kind: 'publication', atMs: ordered.state.validUntilMs, consequence: expect.stringContaining('B4') }]);
  });

  test('B4: the timer before its time is a no-op', () => {
    expect(eventsOf(ordered.when({ type: 'publication_deadline', calendar: CALENDAR }, ordered.state.validUntilMs - 1))).toEqual([]);
  });

  test('B4/B7: unpublished at the deadline: expired, the whole fee refunded within 7 business days', () => {
    const at = ordered.state.validUntilMs; // 2025-02-28 (Fri) → 03-03 … 03-11
    expect(eventsOf(ordered.when({ type: 'publication_deadline', calendar: CALENDAR }, at))).toEqual([
      { type: 'BoostExpired', validUntilMs: at },
      {
        type: 'RefundScheduled',
        amountFen: 24_000n,
        endedOn: '2025-02-28',
        dueDate: '2025-03-11',
        dueAtMs: Date.parse('2025-03-11T16:00:00Z'),
        calendarMissing: false,
        calendarMissingYears: [],
      },
    ]);
  });

  test('§1/B4: a publication after the expiry is rejected with deadline_passed', () => {
    const expired = ordered.run({ type: 'publication_deadline', calendar: CALENDAR }, ordered.state.validUntilMs);
    expect(codeOf(expired.when({ type: 'video_published', videoId: 'v', publishedAtMs: expired.now }, expired.now))).toBe('deadline_passed');
  });

  test('§1/B4: a publication processed before the timer wins, and the timer is then a no-op', () => {
    const published = ordered.published(ordered.state.validUntilMs);
    expect(published.state.status).toBe('boosting');
    expect(eventsOf(published.when({ type: 'publication_deadline', calendar: CALENDAR }, published.now))).toEqual([]);
  });

  test('B4: the linked task order is cancelled: the boost ends the same way (whole fee, 7 business days)', () => {
    const events = eventsOf(ordered.when({ type: 'task_cancelled', calendar: CALENDAR }, ordered.now + DAY));
    expect(events.map((e) => e.type)).toEqual(['BoostEndedByTaskCancellation', 'RefundScheduled']);
    expect(events[1]).toMatchObject({ amountFen: 24_000n });
    expect(ordered.record(events, ordered.now + DAY).state).toMatchObject({ status: 'refund_scheduled', endReason: 'task_cancelled' });
  });

  test('B4: a task cancellation after publication changes nothing', () => {
    expect(eventsOf(ordered.published().when({ type: 'task_cancelled', calendar: CALENDAR }, ordered.now + 2 * DAY))).toEqual([]);
  });
});

describe('B5/B6 boosting and evaluation', () => {
  const published = BoostStory.ordered().published(B0 + DAY);

  test('B5: publication starts 14 days of boost', () => {
    expect(published.state).toMatchObject({ status: 'boosting', video: { videoId: 'video-1', publishedAtMs: B0 + DAY }, boostEndsAtMs: B0 + 15 * DAY });
    expect(pendingBoostDeadlines(published.state)).toMatchObject([{ kind: 'boost_period', atMs: B0 + 15 * DAY }]);
  });

  test('T18: a repeated publication notification is a no-op; another video is invalid_state', () => {
    expect(eventsOf(published.when({ type: 'video_published', videoId: 'video-1', publishedAtMs: B0 + DAY }, B0 + 2 * DAY))).toEqual([]);
    expect(codeOf(published.when({ type: 'video_published', videoId: 'video-2', publishedAtMs: B0 + DAY }, B0 + 2 * DAY))).toBe('invalid_state');
  });

  test('B6: the period timer is a no-op before 14 days; at 14 days the boost waits for the evaluation', () => {
    expect(eventsOf(published.when({ type: 'boost_period_deadline' }, B0 + 15 * DAY - 1))).toEqual([]);
    const ended = published.periodEnded();
    expect(ended.state.status).toBe('evaluating');
    expect(pendingBoostDeadlines(ended.state)).toEqual([]); // B8: waits for stats, no timer
  });

  test('B6: evaluation before the end of the period is invalid_state', () => {
    expect(codeOf(published.when({ type: 'evaluate', actualViews: 1, calendar: CALENDAR }, B0 + 2 * DAY))).toBe('invalid_state');
  });

  test('B6: A ≥ V: succeeded, the order closes with the fee kept by the platform', () => {
    const done = published.periodEnded().evaluated(10_000);
    expect(done.state).toMatchObject({ status: 'closed', endReason: 'evaluated', evaluation: { succeeded: true, compensationFen: 0n, platformKeepsFen: 24_000n } });
    expect(done.events.at(-1)?.event.type).toBe('BoostEvaluated');
  });

  test('B6/B7: A < V, the count 10 days late: the refund is due from the day the 14 days ran out, not the evaluation day', () => {
    const ended = published.periodEnded(); // 2025-09-16 10:00 Shanghai
    const at = Date.parse('2025-09-26T02:00:00Z'); // stats arrived late: evaluated 2025-09-26
    const events = eventsOf(ended.when({ type: 'evaluate', actualViews: 9_000, calendar: CALENDAR }, at));
    // 2025-09-16 (Tue) + 7 business days: 17, 18, 19, 22, 23, 24, 25 → due by the end of 2025-09-25.
    expect(events).toEqual([
      { type: 'BoostEvaluated', actualViews: 9_000, succeeded: false, compensationFen: 12_400n, platformKeepsFen: 11_600n },
      { type: 'RefundScheduled', amountFen: 12_400n, endedOn: '2025-09-16', dueDate: '2025-09-25', dueAtMs: Date.parse('2025-09-25T16:00:00Z'), calendarMissing: false, calendarMissingYears: [] },
    ]);
    const scheduled = ended.record(events, at);
    expect(pendingBoostDeadlines(scheduled.state)).toMatchObject([{ kind: 'refund', atMs: Date.parse('2025-09-25T16:00:00Z') }]);
  });

  test('B7 (SPEC example): a boost ending on 2025-09-26 whose count arrives 2 days late has its refund due by the end of 2025-10-13', () => {
    const ended = BoostStory.ordered({}, Date.parse('2025-09-01T02:00:00Z')).published(Date.parse('2025-09-12T02:00:00Z')).periodEnded();
    const events = eventsOf(ended.when({ type: 'evaluate', actualViews: 9_000, calendar: CALENDAR }, Date.parse('2025-09-28T02:00:00Z')));
    expect(events.at(-1)).toMatchObject({ type: 'RefundScheduled', endedOn: '2025-09-26', dueDate: '2025-10-13', dueAtMs: Date.parse('2025-10-13T16:00:00Z') });
  });

  test('B7: runs evaluated before the fix keep counting from the evaluation day (refundFromEvaluation, set only under patched())', () => {
    const ended = published.periodEnded();
    const at = Date.parse('2025-09-26T02:00:00Z');
    const events = eventsOf(ended.when({ type: 'evaluate', actualViews: 9_000, calendar: CALENDAR, refundFromEvaluation: true }, at));
    expect(events.at(-1)).toMatchObject({ type: 'RefundScheduled', endedOn: '2025-09-26', dueDate: '2025-10-13' });
  });

  test('B6: a malformed view count is validation_failed, not a crash', () => {
    expect(codeOf(published.periodEnded().when({ type: 'evaluate', actualViews: -5, calendar: CALENDAR }, B0 + 16 * DAY))).toBe('validation_failed');
  });
});

describe('B7 refunds: early release (F5) or automatically at the due time', () => {
  const scheduled = BoostStory.ordered().published(B0 + DAY).periodEnded().evaluated(9_000);
  const due = scheduled.state.refund!.dueAtMs;

  test('B7: the refund timer before its time is a no-op; at the due time the refund is posted', () => {
    expect(eventsOf(scheduled.when({ type: 'refund_deadline' }, due - 1))).toEqual([]);
    expect(eventsOf(scheduled.when({ type: 'refund_deadline' }, due))).toEqual([{ type: 'RefundPosted', amountFen: 12_400n, early: false }]);
  });

  test('F5: finance releases it early; the due timer is then a no-op', () => {
    const released = scheduled.run({ type: 'release_refund', by: { type: 'finance', id: 'fin-1' }, reason: 'ok' }, scheduled.now + HOUR);
    expect(released.since(scheduled)).toEqual([{ type: 'RefundPosted', amountFen: 12_400n, early: true, by: { type: 'finance', id: 'fin-1' }, reason: 'ok' }]);
    expect(released.state).toMatchObject({ status: 'closed', escrowFen: 0n, refund: { early: true, releasedBy: { type: 'finance', id: 'fin-1' } } });
    expect(eventsOf(released.when({ type: 'refund_deadline' }, due))).toEqual([]);
    expect(codeOf(released.when({ type: 'release_refund', by: { type: 'finance', id: 'fin-1' } }, due))).toBe('invalid_state');
  });

  test('§1/F5: a release after the automatic posting is deadline_passed', () => {
    expect(codeOf(scheduled.refundDue().when({ type: 'release_refund', by: { type: 'finance', id: 'fin-1' } }, due + 1))).toBe('deadline_passed');
  });

  test('F5: nothing to release before a refund is scheduled; a releaser is required', () => {
    expect(rejectionOf(BoostStory.ordered().when({ type: 'release_refund', by: { type: 'finance', id: 'f' } }, B0)).code).toBe('invalid_state');
    expect(codeOf(scheduled.when({ type: 'release_refund', by: { type: 'finance', id: ' ' } }, B0))).toBe('validation_failed');
  });

  test('B7/O1: a refund counted through a year without calendar data is flagged calendar_missing', () => {
    const late = BoostStory.ordered({}, Date.parse('2030-12-01T02:00:00Z')).published(Date.parse('2030-12-10T02:00:00Z')).periodEnded();
    const calendar = calendarFromRows([], ['2030']);
    const evaluated = late.evaluated(0, late.now, calendar); // 2030-12-24 → 7 business days reach into 2031
    expect(evaluated.state).toMatchObject({ status: 'refund_scheduled', calendarMissing: true, refund: { calendarMissingYears: ['2031'], amountFen: 24_000n } });
  });
});

describe('L3 ledger transactions and E1 storage', () => {
  const story = BoostStory.ordered({ funding: { source: 'external', paymentRef: 'pay-9' } }).published().periodEnded().evaluated(9_000).refundDue();

  test('L3/L5: deterministic ids per boost order and version; the payment cites its external reference', () => {
    const txs = story.events.map((recorded, i) => boostLedgerTransactionFor(foldBoost(story.events.slice(0, i)), recorded));
    expect(txs.filter(Boolean)).toEqual([
      { txId: 'boost:boost-1:v1:boost_payment', kind: 'boost_payment', orderId: 'boost-1', externalPaymentRef: 'pay-9', transfers: [{ debitAccount: 'external:payments', creditAccount: 'escrow:boost:boost-1', amountFen: 24_000n }] },
      { txId: 'boost:boost-1:v4:boost_premium', kind: 'boost_premium', orderId: 'boost-1', transfers: [{ debitAccount: 'escrow:boost:boost-1', creditAccount: 'platform:boost_premiums', amountFen: 11_600n }] },
      { txId: 'boost:boost-1:v6:boost_refund', kind: 'boost_refund', orderId: 'boost-1', transfers: [{ debitAccount: 'escrow:boost:boost-1', creditAccount: 'client:client-1', amountFen: 12_400n }] },
    ]);
  });

  test('E1: every event survives the stored-JSON round trip exactly (amounts back to bigint)', () => {
    for (const { event } of story.events) expect(fromStoredJson(toStoredJson(event))).toEqual(event);
  });
});
