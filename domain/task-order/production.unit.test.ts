import { ledgerTransactionFor } from './ledger';
import { notificationsFor } from './notifications';
import { pendingDeadlines } from './deadlines';
import { fold } from './evolve';
import { CLIENT, CREATOR, DAY, HOUR, OTHER_CREATOR, Story, T0, codeOf, eventsOf } from './testing';

const ACCEPTED_AT = T0 + HOUR;
const UPLOAD_AT = T0 + 2 * DAY;
const REVIEW_DUE = UPLOAD_AT + 7 * DAY;
const inProduction = Story.placed().run({ type: 'accept', actor: CREATOR }, ACCEPTED_AT);
const inReview = inProduction.run({ type: 'upload_video', actor: CREATOR, draftId: 'draft-1' }, UPLOAD_AT);
const approved = inReview.run({ type: 'review', actor: CLIENT, decision: 'approve' }, UPLOAD_AT + DAY);
const PUBLISHED_AT = '2025-09-04T12:00:00+08:00'; // after the acceptance, before the publish commands' now (T18)

describe('T15–T16: production and uploads', () => {
  test('T15: in full mode the order is in production right after acceptance', () => {
    expect(inProduction.state.status).toBe('in_production');
  });

  test('T15: a deposit-mode order is in production only once the balance is paid (no upload before)', () => {
    const awaiting = Story.placed({ paymentMode: 'deposit' }).run({ type: 'accept', actor: CREATOR }, ACCEPTED_AT);
    expect(codeOf(awaiting.when({ type: 'upload_video', actor: CREATOR, draftId: 'd' }, UPLOAD_AT))).toBe('invalid_state');
    const paid = awaiting.run({ type: 'pay_balance', actor: CLIENT, funding: { source: 'account' } }, T0 + DAY);
    expect(codeOf(paid.when({ type: 'upload_video', actor: CREATOR, draftId: 'd' }, UPLOAD_AT))).toBe('ok');
  });

  test('T16: the first upload marks production started and puts the draft under review for 7 days (T17)', () => {
    expect(eventsOf(inProduction.when({ type: 'upload_video', actor: CREATOR, draftId: 'draft-1' }, UPLOAD_AT))).toEqual([
      { type: 'VideoUploaded', by: CREATOR, uploadNo: 1, draftId: 'draft-1', reviewDueAtMs: REVIEW_DUE },
    ]);
    expect(inReview.state).toMatchObject({
      status: 'in_review',
      uploads: 1,
      reviewDueAtMs: REVIEW_DUE,
      latestUpload: { uploadNo: 1, draftId: 'draft-1', uploadedAt: UPLOAD_AT },
    });
  });

  test('T16/E3: the client is told a draft awaits its review', () => {
    expect(notificationsFor(inReview.state, inReview.events[2]!)).toEqual([
      { recipient: { type: 'client', id: CLIENT.id }, kind: 'video_uploaded', data: { orderId: 'order-1', uploadNo: 1, reviewDueAt: new Date(REVIEW_DUE).toISOString() } },
    ]);
  });

  test('T16: any number of uploads: after changes are requested the creator uploads again (upload #2)', () => {
    const changes = inReview.run({ type: 'review', actor: CLIENT, decision: 'request_changes', comment: 'louder' }, UPLOAD_AT + DAY);
    expect(changes.state.status).toBe('in_production');
    const second = changes.run({ type: 'upload_video', actor: CREATOR, videoUrl: 'https://v.example/2.mp4' }, UPLOAD_AT + 2 * DAY);
    expect(second.state).toMatchObject({ status: 'in_review', uploads: 2, reviewDueAtMs: UPLOAD_AT + 9 * DAY, latestUpload: { uploadNo: 2, videoUrl: 'https://v.example/2.mp4' } });
  });

  test('T16: while a draft is in review (or after approval) another upload is invalid_state', () => {
    expect(codeOf(inReview.when({ type: 'upload_video', actor: CREATOR, draftId: 'd2' }, UPLOAD_AT + HOUR))).toBe('invalid_state');
    expect(codeOf(approved.when({ type: 'upload_video', actor: CREATOR, draftId: 'd2' }, UPLOAD_AT + 2 * DAY))).toBe('invalid_state');
  });

  test('T16: an upload needs a draftId or a videoUrl (validation_failed)', () => {
    expect(codeOf(inProduction.when({ type: 'upload_video', actor: CREATOR }, UPLOAD_AT))).toBe('validation_failed');
    expect(codeOf(inProduction.when({ type: 'upload_video', actor: CREATOR, draftId: '' }, UPLOAD_AT))).toBe('validation_failed');
  });

  test('T16: only the order\'s creator uploads', () => {
    expect(codeOf(inProduction.when({ type: 'upload_video', actor: CLIENT, draftId: 'd' }, UPLOAD_AT))).toBe('forbidden');
    expect(codeOf(inProduction.when({ type: 'upload_video', actor: OTHER_CREATOR, draftId: 'd' }, UPLOAD_AT))).toBe('forbidden');
  });
});

describe('T17: review', () => {
  test('T17: the client approves the upload under review', () => {
    expect(eventsOf(inReview.when({ type: 'review', actor: CLIENT, decision: 'approve', comment: 'great' }, UPLOAD_AT + DAY))).toEqual([
      { type: 'VideoReviewed', by: CLIENT, uploadNo: 1, decision: 'approve', comment: 'great' },
    ]);
    expect(approved.state).toMatchObject({ status: 'approved', approvedAt: UPLOAD_AT + DAY, autoApproved: false });
    expect(approved.state.reviewDueAtMs).toBeUndefined();
  });

  test('T17/E3: the creator is told the decision', () => {
    const changes = inReview.run({ type: 'review', actor: CLIENT, decision: 'request_changes', comment: 'louder' }, UPLOAD_AT + DAY);
    expect(notificationsFor(changes.state, changes.events[3]!)).toEqual([
      { recipient: { type: 'creator', id: CREATOR.id }, kind: 'review', data: { orderId: 'order-1', uploadNo: 1, decision: 'request_changes', comment: 'louder' } },
    ]);
  });

  test('T17: 7 days after an upload without a review it is approved automatically', () => {
    expect(eventsOf(inReview.when({ type: 'review_deadline' }, REVIEW_DUE))).toEqual([{ type: 'VideoAutoApproved', uploadNo: 1 }]);
    const auto = inReview.run({ type: 'review_deadline' }, REVIEW_DUE);
    expect(auto.state).toMatchObject({ status: 'approved', autoApproved: true });
    expect(notificationsFor(auto.state, auto.events[3]!).map((n) => [n.recipient.type, n.kind])).toEqual([
      ['client', 'review'],
      ['creator', 'review'],
    ]);
  });

  test('T17: the review deadline is a no-op 1 ms early, after a review, and for an older upload', () => {
    expect(eventsOf(inReview.when({ type: 'review_deadline' }, REVIEW_DUE - 1))).toEqual([]);
    expect(eventsOf(approved.when({ type: 'review_deadline' }, REVIEW_DUE))).toEqual([]);
    const second = inReview
      .run({ type: 'review', actor: CLIENT, decision: 'request_changes' }, UPLOAD_AT + DAY)
      .run({ type: 'upload_video', actor: CREATOR, draftId: 'draft-2' }, UPLOAD_AT + 2 * DAY);
    expect(eventsOf(second.when({ type: 'review_deadline' }, REVIEW_DUE))).toEqual([]); // upload #1's time is gone
    expect(eventsOf(second.when({ type: 'review_deadline' }, REVIEW_DUE + 2 * DAY - 1))).toEqual([]);
    expect(eventsOf(second.when({ type: 'review_deadline' }, REVIEW_DUE + 2 * DAY))).toEqual([{ type: 'VideoAutoApproved', uploadNo: 2 }]);
  });

  test('T17: a review after the automatic approval → deadline_passed', () => {
    const auto = inReview.run({ type: 'review_deadline' }, REVIEW_DUE);
    expect(codeOf(auto.when({ type: 'review', actor: CLIENT, decision: 'request_changes' }, REVIEW_DUE + 1))).toBe('deadline_passed');
  });

  test('T17: a review with nothing under review is invalid_state; only the client reviews', () => {
    expect(codeOf(inProduction.when({ type: 'review', actor: CLIENT, decision: 'approve' }, UPLOAD_AT))).toBe('invalid_state');
    expect(codeOf(approved.when({ type: 'review', actor: CLIENT, decision: 'approve' }, UPLOAD_AT + 2 * DAY))).toBe('invalid_state');
    expect(codeOf(inReview.when({ type: 'review', actor: CREATOR, decision: 'approve' }, UPLOAD_AT))).toBe('forbidden');
  });
});

describe('T18: publication and settlement', () => {
  test('T18: publishing records the video and completes the order with its settlement', () => {
    expect(eventsOf(approved.when({ type: 'publish', actor: CREATOR, videoId: 'v-1', publishedAt: PUBLISHED_AT }, UPLOAD_AT + 2 * DAY))).toEqual([
      { type: 'VideoPublished', by: CREATOR, videoId: 'v-1', publishedAt: '2025-09-04T04:00:00.000Z' },
      { type: 'TaskOrderCompleted', creatorFen: 99_999n, serviceFeeFen: 10_000n },
    ]);
    const done = approved.run({ type: 'publish', actor: CREATOR, videoId: 'v-1', publishedAt: PUBLISHED_AT }, UPLOAD_AT + 2 * DAY);
    expect(done.state).toMatchObject({
      status: 'completed',
      paidInFen: 0n,
      closedAt: UPLOAD_AT + 2 * DAY,
      publishedVideo: { videoId: 'v-1', publishedAt: '2025-09-04T04:00:00.000Z' },
      settlement: { refundFen: 0n, creatorFen: 99_999n, serviceFeeFen: 10_000n, forfeitedFen: 0n },
    });
    expect(pendingDeadlines(done.state)).toEqual([]);
  });

  test('T18: settlement posts escrow → creator (final price) and escrow → platform:service_fees (fee)', () => {
    const done = approved.run({ type: 'publish', actor: CREATOR, videoId: 'v-1', publishedAt: PUBLISHED_AT }, UPLOAD_AT + 2 * DAY);
    const beforeSettlement = fold(done.events.slice(0, -1));
    expect(ledgerTransactionFor(beforeSettlement, done.events[done.events.length - 1]!)).toEqual({
      txId: 'task:order-1:v6:completion_settlement',
      kind: 'completion_settlement',
      orderId: 'order-1',
      transfers: [
        { debitAccount: 'escrow:task:order-1', creditAccount: 'creator:creator-1', amountFen: 99_999n },
        { debitAccount: 'escrow:task:order-1', creditAccount: 'platform:service_fees', amountFen: 10_000n },
      ],
    });
  });

  test('T18/E3: the client is told of the publication; both are told of the settlement', () => {
    const done = approved.run({ type: 'publish', actor: CREATOR, videoId: 'v-1', publishedAt: PUBLISHED_AT }, UPLOAD_AT + 2 * DAY);
    const [published, completed] = done.events.slice(-2);
    expect(notificationsFor(done.state, published!)).toEqual([
      { recipient: { type: 'client', id: CLIENT.id }, kind: 'published', data: { orderId: 'order-1', videoId: 'v-1', publishedAt: '2025-09-04T04:00:00.000Z' } },
    ]);
    expect(notificationsFor(done.state, completed!)).toEqual([
      { recipient: { type: 'creator', id: CREATOR.id }, kind: 'settled', data: { orderId: 'order-1', amountFen: 99_999n } },
      { recipient: { type: 'client', id: CLIENT.id }, kind: 'settled', data: { orderId: 'order-1' } },
    ]);
  });

  test('T18: publishing before approval is invalid_state; after completion too', () => {
    expect(codeOf(inReview.when({ type: 'publish', actor: CREATOR, videoId: 'v', publishedAt: PUBLISHED_AT }, UPLOAD_AT))).toBe('invalid_state');
    const done = approved.run({ type: 'publish', actor: CREATOR, videoId: 'v-1', publishedAt: PUBLISHED_AT }, UPLOAD_AT + 2 * DAY);
    expect(codeOf(done.when({ type: 'publish', actor: CREATOR, videoId: 'v-1', publishedAt: PUBLISHED_AT }, UPLOAD_AT + 3 * DAY))).toBe('invalid_state');
  });

  test('T18: publishing needs a videoId and a valid publishedAt; only the creator publishes', () => {
    expect(codeOf(approved.when({ type: 'publish', actor: CREATOR, videoId: '', publishedAt: PUBLISHED_AT }, UPLOAD_AT))).toBe('validation_failed');
    expect(codeOf(approved.when({ type: 'publish', actor: CREATOR, videoId: 'v', publishedAt: 'yesterday' }, UPLOAD_AT))).toBe('validation_failed');
    expect(codeOf(approved.when({ type: 'publish', actor: CLIENT, videoId: 'v', publishedAt: PUBLISHED_AT }, UPLOAD_AT))).toBe('forbidden');
  });

  test('T18: publishedAt from the acceptance up to 5 minutes after now; outside → invalid_state with the bounds, nothing recorded', () => {
    const now = UPLOAD_AT + 2 * DAY;
    const at = (ms: number) => ({ type: 'publish' as const, actor: CREATOR, videoId: 'v', publishedAt: new Date(ms).toISOString() });
    expect(codeOf(approved.when(at(ACCEPTED_AT), now))).toBe('ok');
    expect(codeOf(approved.when(at(now + 5 * 60_000), now))).toBe('ok');
    expect(approved.when(at(ACCEPTED_AT - 1), now)).toMatchObject({
      ok: false,
      rejection: { code: 'invalid_state', details: { earliestAt: new Date(ACCEPTED_AT).toISOString(), latestAt: new Date(now + 5 * 60_000).toISOString() } },
    });
    expect(codeOf(approved.when(at(now + 5 * 60_000 + 1), now))).toBe('invalid_state');
    expect(codeOf(approved.when(at(now + 365 * DAY), now))).toBe('invalid_state');
    expect(codeOf(approved.when(at(T0 - 90 * DAY), now))).toBe('invalid_state');
  });

  test('T18: a workflow replaying a publication from before the bounds (unboundedPublishedAt) keeps it', () => {
    const command = { type: 'publish' as const, actor: CREATOR, videoId: 'v', publishedAt: new Date(T0 - 90 * DAY).toISOString(), unboundedPublishedAt: true };
    expect(codeOf(approved.when(command, UPLOAD_AT + 2 * DAY))).toBe('ok');
  });

  test('T18/T9: a deposit-mode order settles its final (changed) price', () => {
    const done = Story.placed({ paymentMode: 'deposit' })
      .run({ type: 'accept', actor: CREATOR, newPriceFen: 80_000n }, ACCEPTED_AT)
      .run({ type: 'pay_balance', actor: CLIENT, funding: { source: 'account' } }, T0 + DAY)
      .run({ type: 'upload_video', actor: CREATOR, draftId: 'd' }, UPLOAD_AT)
      .run({ type: 'review_deadline' }, REVIEW_DUE)
      .run({ type: 'publish', actor: CREATOR, videoId: 'v', publishedAt: PUBLISHED_AT }, REVIEW_DUE + HOUR);
    expect(done.events[done.events.length - 1]!.event).toEqual({ type: 'TaskOrderCompleted', creatorFen: 80_000n, serviceFeeFen: 8_000n });
  });
});

describe('T19: publish overdue', () => {
  const EXPECTED = T0 + 30 * DAY;

  test('T19: at the brief\'s expected publish time an unpublished order is flagged once; nothing is cancelled', () => {
    expect(eventsOf(inReview.when({ type: 'publish_overdue_deadline' }, EXPECTED))).toEqual([
      { type: 'PublishOverdueFlagged', expectedPublishAt: new Date(EXPECTED).toISOString() },
    ]);
    const flagged = inReview.run({ type: 'publish_overdue_deadline' }, EXPECTED);
    expect(flagged.state).toMatchObject({ status: 'in_review', publishOverdue: true });
    expect(eventsOf(flagged.when({ type: 'publish_overdue_deadline' }, EXPECTED + DAY))).toEqual([]);
    expect(pendingDeadlines(flagged.state).map((d) => d.kind)).not.toContain('publish_overdue');
  });

  test('T19: the creator is told; the order can still be published afterwards', () => {
    const flagged = approved.run({ type: 'publish_overdue_deadline' }, EXPECTED);
    expect(notificationsFor(flagged.state, flagged.events[flagged.events.length - 1]!)).toEqual([
      { recipient: { type: 'creator', id: CREATOR.id }, kind: 'publish_overdue', data: { orderId: 'order-1', expectedPublishAt: new Date(EXPECTED).toISOString() } },
    ]);
    expect(codeOf(flagged.when({ type: 'publish', actor: CREATOR, videoId: 'v', publishedAt: PUBLISHED_AT }, EXPECTED + 1))).toBe('ok');
  });

  test('T19: a no-op 1 ms early, after publication, and on a cancelled order', () => {
    expect(eventsOf(inReview.when({ type: 'publish_overdue_deadline' }, EXPECTED - 1))).toEqual([]);
    const done = approved.run({ type: 'publish', actor: CREATOR, videoId: 'v', publishedAt: PUBLISHED_AT }, UPLOAD_AT + 2 * DAY);
    expect(eventsOf(done.when({ type: 'publish_overdue_deadline' }, EXPECTED))).toEqual([]);
    const rejected = Story.placed().run({ type: 'reject', actor: CREATOR }, T0 + HOUR);
    expect(eventsOf(rejected.when({ type: 'publish_overdue_deadline' }, EXPECTED))).toEqual([]);
  });
});
