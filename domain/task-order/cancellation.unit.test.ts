import { cancellationOutcome } from './decide';
import { pendingDeadlines } from './deadlines';
import { notificationsFor } from './notifications';
import { CLIENT, CREATOR, DAY, HOUR, OTHER_CLIENT, OTHER_CREATOR, Story, T0, codeOf, eventsOf, rejectionOf } from './testing';

const ACCEPTED_AT = T0 + HOUR;
const REQUESTED_AT = T0 + 3 * DAY;
const ANSWER_DUE = REQUESTED_AT + 72 * HOUR;
const account = { source: 'account' } as const;

const fullInProduction = Story.placed().run({ type: 'accept', actor: CREATOR }, ACCEPTED_AT); // 99999 + 10000 in escrow
const fullUploaded = fullInProduction.run({ type: 'upload_video', actor: CREATOR, draftId: 'd1' }, T0 + 2 * DAY);
const depositAwaiting = Story.placed({ paymentMode: 'deposit' }).run({ type: 'accept', actor: CREATOR, newPriceFen: 119_998n }, ACCEPTED_AT);

describe('T20/T21: a cancellation after acceptance is a request', () => {
  test('T20: the client\'s cancel after acceptance records a request the creator must answer within 72 h', () => {
    expect(eventsOf(fullInProduction.when({ type: 'cancel', actor: CLIENT, reason: 'campaign dropped' }, REQUESTED_AT))).toEqual([
      { type: 'CancellationRequested', by: CLIENT, reason: 'campaign dropped', answerDueAtMs: ANSWER_DUE },
    ]);
    const pending = fullInProduction.run({ type: 'cancel', actor: CLIENT, reason: 'campaign dropped' }, REQUESTED_AT);
    expect(pending.state).toMatchObject({
      status: 'in_production', // an overlay: the status underneath is kept
      pendingCancellation: { by: CLIENT, reason: 'campaign dropped', requestedAt: REQUESTED_AT, answerDueAtMs: ANSWER_DUE, escalated: false },
    });
  });

  test('T21: the creator may request a cancellation after acceptance; the client is asked (E3)', () => {
    const pending = fullUploaded.run({ type: 'cancel', actor: CREATOR, reason: 'sick' }, REQUESTED_AT);
    expect(pending.state.pendingCancellation?.by).toEqual(CREATOR);
    expect(notificationsFor(pending.state, pending.events[pending.events.length - 1]!)).toEqual([
      {
        recipient: { type: 'client', id: CLIENT.id },
        kind: 'cancellation_requested',
        data: { orderId: 'order-1', by: 'creator', answerDueAt: new Date(ANSWER_DUE).toISOString(), reason: 'sick' },
      },
    ]);
  });

  test('T22: only one pending request at a time: a second cancel → invalid_state', () => {
    const pending = fullInProduction.run({ type: 'cancel', actor: CLIENT }, REQUESTED_AT);
    expect(codeOf(pending.when({ type: 'cancel', actor: CREATOR }, REQUESTED_AT + 1))).toBe('invalid_state');
    expect(codeOf(pending.when({ type: 'cancel', actor: CLIENT }, REQUESTED_AT + 1))).toBe('invalid_state');
  });

  test('T20/T21: strangers cannot request a cancellation (forbidden)', () => {
    expect(codeOf(fullInProduction.when({ type: 'cancel', actor: OTHER_CLIENT }, REQUESTED_AT))).toBe('forbidden');
    expect(codeOf(fullInProduction.when({ type: 'cancel', actor: OTHER_CREATOR }, REQUESTED_AT))).toBe('forbidden');
  });

  test('T20: a completed order cannot be cancelled (invalid_state)', () => {
    const done = fullUploaded
      .run({ type: 'review', actor: CLIENT, decision: 'approve' }, T0 + 3 * DAY)
      .run({ type: 'publish', actor: CREATOR, videoId: 'v', publishedAt: '2025-09-05T00:00:00Z' }, T0 + 4 * DAY);
    expect(codeOf(done.when({ type: 'cancel', actor: CLIENT }, T0 + 5 * DAY))).toBe('invalid_state');
  });
});

describe('T20–T22: the counterparty confirms — money to the fen', () => {
  test('T20: client-initiated before any upload: full refund (109999), no compensation', () => {
    const pending = fullInProduction.run({ type: 'cancel', actor: CLIENT, reason: 'budget' }, REQUESTED_AT);
    expect(eventsOf(pending.when({ type: 'cancel_response', actor: CREATOR, accept: true, reason: 'ok' }, REQUESTED_AT + HOUR))).toEqual([
      { type: 'CancellationConfirmed', by: CREATOR, reason: 'ok' },
      {
        type: 'TaskOrderCancelled',
        reason: 'cancelled_by_client_after_acceptance',
        by: CLIENT,
        note: 'budget',
        refundFen: 109_999n,
        creatorFen: 0n,
        serviceFeeFen: 0n,
        forfeitedFen: 0n,
      },
    ]);
  });

  test('T20: deposit mode before the balance is paid: free, the deposit (10000) is refunded', () => {
    const pending = depositAwaiting.run({ type: 'cancel', actor: CLIENT }, REQUESTED_AT);
    expect(eventsOf(pending.when({ type: 'cancel_response', actor: CREATOR, accept: true }, REQUESTED_AT + HOUR))[1]).toMatchObject({
      reason: 'cancelled_by_client_after_acceptance',
      refundFen: 10_000n,
      creatorFen: 0n,
      serviceFeeFen: 0n,
      forfeitedFen: 0n,
    });
  });

  test('T20: after an upload: 50% of 99999 = 49999.5 → 50000 to the creator, 5000 fee, 54999 back', () => {
    const pending = fullUploaded.run({ type: 'cancel', actor: CLIENT }, REQUESTED_AT);
    expect(eventsOf(pending.when({ type: 'cancel_response', actor: CREATOR, accept: true }, REQUESTED_AT + HOUR))[1]).toEqual({
      type: 'TaskOrderCancelled',
      reason: 'cancelled_by_client_after_acceptance',
      by: CLIENT,
      refundFen: 54_999n,
      creatorFen: 50_000n,
      serviceFeeFen: 5_000n,
      forfeitedFen: 0n,
    });
  });

  test('T20: after an upload, price 12345: compensation 6172.5 → 6173, fee 617.3 → 617, refund 13580 − 6790 = 6790', () => {
    const uploaded = Story.placed({ priceFen: 12_345n })
      .run({ type: 'accept', actor: CREATOR }, ACCEPTED_AT)
      .run({ type: 'upload_video', actor: CREATOR, draftId: 'd' }, T0 + 2 * DAY);
    expect(uploaded.state.paidInFen).toBe(13_580n);
    expect(cancellationOutcome(uploaded.state, 'client')).toEqual({ refundFen: 6_790n, creatorFen: 6_173n, serviceFeeFen: 617n, forfeitedFen: 0n });
  });

  test('T20: after an upload on a deposit-mode order with a changed price, compensation is 50% of the final price', () => {
    const uploaded = depositAwaiting
      .run({ type: 'pay_balance', actor: CLIENT, funding: account }, T0 + DAY)
      .run({ type: 'upload_video', actor: CREATOR, draftId: 'd' }, T0 + 2 * DAY);
    // escrow 131998 = 119998 + 12000; 50% of 119998 = 59999; fee 5999.9 → 6000
    expect(cancellationOutcome(uploaded.state, 'client')).toEqual({ refundFen: 65_999n, creatorFen: 59_999n, serviceFeeFen: 6_000n, forfeitedFen: 0n });
  });

  test('T21: creator-initiated after an upload: the creator gets nothing, the client gets everything back incl. the fee', () => {
    const pending = fullUploaded.run({ type: 'cancel', actor: CREATOR, reason: 'sick' }, REQUESTED_AT);
    expect(eventsOf(pending.when({ type: 'cancel_response', actor: CLIENT, accept: true, reason: 'fine' }, REQUESTED_AT + HOUR))).toEqual([
      { type: 'CancellationConfirmed', by: CLIENT, reason: 'fine' },
      { type: 'TaskOrderCancelled', reason: 'cancelled_by_creator', by: CREATOR, note: 'sick', refundFen: 109_999n, creatorFen: 0n, serviceFeeFen: 0n, forfeitedFen: 0n },
    ]);
  });

  test('T21: creator-initiated in deposit mode before the balance: the deposit goes back', () => {
    const pending = depositAwaiting.run({ type: 'cancel', actor: CREATOR }, REQUESTED_AT);
    expect(eventsOf(pending.when({ type: 'cancel_response', actor: CLIENT, accept: true }, REQUESTED_AT + HOUR))[1]).toMatchObject({
      reason: 'cancelled_by_creator',
      refundFen: 10_000n,
      creatorFen: 0n,
    });
  });

  test('T20/E3: a confirmed cancellation tells both parties, the client of its refund and the creator of its compensation', () => {
    const cancelled = fullUploaded
      .run({ type: 'cancel', actor: CLIENT }, REQUESTED_AT)
      .run({ type: 'cancel_response', actor: CREATOR, accept: true }, REQUESTED_AT + HOUR);
    const [confirmed, closed] = cancelled.events.slice(-2);
    expect(notificationsFor(cancelled.state, confirmed!)).toEqual([]);
    expect(notificationsFor(cancelled.state, closed!)).toEqual([
      { recipient: { type: 'client', id: CLIENT.id }, kind: 'cancelled', data: { orderId: 'order-1', reason: 'cancelled_by_client_after_acceptance' } },
      { recipient: { type: 'creator', id: CREATOR.id }, kind: 'cancelled', data: { orderId: 'order-1', reason: 'cancelled_by_client_after_acceptance' } },
      { recipient: { type: 'client', id: CLIENT.id }, kind: 'refund', data: { orderId: 'order-1', amountFen: 54_999n } },
      { recipient: { type: 'creator', id: CREATOR.id }, kind: 'compensation', data: { orderId: 'order-1', amountFen: 50_000n } },
    ]);
    expect(cancelled.state).toMatchObject({ status: 'cancelled', paidInFen: 0n, settlement: { refundFen: 54_999n, creatorFen: 50_000n, serviceFeeFen: 5_000n } });
    expect(cancelled.state.pendingCancellation).toBeUndefined();
  });
});

describe('T22: decline, answer time, arbitration (O4)', () => {
  const pending = fullUploaded.run({ type: 'cancel', actor: CLIENT, reason: 'budget' }, REQUESTED_AT);

  test('T22: declined, the order continues where it was and the initiator is told (T23: who and why)', () => {
    expect(eventsOf(pending.when({ type: 'cancel_response', actor: CREATOR, accept: false, reason: 'almost done' }, REQUESTED_AT + HOUR))).toEqual([
      { type: 'CancellationDeclined', by: CREATOR, reason: 'almost done' },
    ]);
    const declined = pending.run({ type: 'cancel_response', actor: CREATOR, accept: false, reason: 'almost done' }, REQUESTED_AT + HOUR);
    expect(declined.state.status).toBe('in_review');
    expect(declined.state.pendingCancellation).toBeUndefined();
    expect(notificationsFor(declined.state, declined.events[declined.events.length - 1]!)).toEqual([
      { recipient: { type: 'client', id: CLIENT.id }, kind: 'cancellation_declined', data: { orderId: 'order-1', by: 'creator', reason: 'almost done' } },
    ]);
    expect(codeOf(declined.when({ type: 'review', actor: CLIENT, decision: 'approve' }, REQUESTED_AT + 2 * HOUR))).toBe('ok');
    expect(codeOf(declined.when({ type: 'cancel', actor: CLIENT }, REQUESTED_AT + 2 * HOUR))).toBe('ok'); // may ask again
  });

  test('T22: the initiator cannot answer its own request (forbidden); a stranger neither', () => {
    expect(codeOf(pending.when({ type: 'cancel_response', actor: CLIENT, accept: true }, REQUESTED_AT + HOUR))).toBe('forbidden');
    expect(codeOf(pending.when({ type: 'cancel_response', actor: OTHER_CREATOR, accept: true }, REQUESTED_AT + HOUR))).toBe('forbidden');
  });

  test('T22: answering when no request is pending is invalid_state', () => {
    expect(codeOf(fullUploaded.when({ type: 'cancel_response', actor: CREATOR, accept: true }, REQUESTED_AT))).toBe('invalid_state');
  });

  test('T22: while a request is pending the order\'s progress waits (upload, review, publish → invalid_state)', () => {
    expect(codeOf(pending.when({ type: 'review', actor: CLIENT, decision: 'approve' }, REQUESTED_AT + HOUR))).toBe('invalid_state');
    const pendingInProduction = fullInProduction.run({ type: 'cancel', actor: CREATOR }, REQUESTED_AT);
    expect(codeOf(pendingInProduction.when({ type: 'upload_video', actor: CREATOR, draftId: 'd' }, REQUESTED_AT + HOUR))).toBe('invalid_state');
    const pendingApproved = fullUploaded
      .run({ type: 'review', actor: CLIENT, decision: 'approve' }, REQUESTED_AT)
      .run({ type: 'cancel', actor: CLIENT }, REQUESTED_AT);
    expect(rejectionOf(pendingApproved.when({ type: 'publish', actor: CREATOR, videoId: 'v', publishedAt: '2025-09-05T00:00:00Z' }, REQUESTED_AT + HOUR))).toMatchObject({
      code: 'invalid_state',
      details: { status: 'approved', cancellationRequestedBy: 'client', escalated: false },
    });
  });

  test('T22/T12: the balance can still be paid while a request is pending (protects the deposit from T13)', () => {
    const pendingDeposit = depositAwaiting.run({ type: 'cancel', actor: CLIENT }, REQUESTED_AT);
    const paid = pendingDeposit.run({ type: 'pay_balance', actor: CLIENT, funding: account }, REQUESTED_AT + HOUR);
    expect(paid.state).toMatchObject({ status: 'in_production', paidInFen: 131_998n });
    // Nothing was uploaded: confirming still refunds everything.
    expect(eventsOf(paid.when({ type: 'cancel_response', actor: CREATOR, accept: true }, REQUESTED_AT + 2 * HOUR))[1]).toMatchObject({ refundFen: 131_998n, creatorFen: 0n });
  });

  test('T22: no answer within 72 h: the request is escalated to arbitration (both parties told)', () => {
    expect(pendingDeadlines(pending.state).map((d) => [d.kind, d.atMs])).toContainEqual(['cancellation_answer', ANSWER_DUE]);
    expect(eventsOf(pending.when({ type: 'cancellation_answer_deadline' }, ANSWER_DUE))).toEqual([{ type: 'CancellationEscalated', requestedBy: CLIENT }]);
    const escalated = pending.run({ type: 'cancellation_answer_deadline' }, ANSWER_DUE);
    expect(escalated.state.pendingCancellation).toMatchObject({ escalated: true, escalatedAt: ANSWER_DUE });
    expect(pendingDeadlines(escalated.state).map((d) => d.kind)).not.toContain('cancellation_answer');
    expect(notificationsFor(escalated.state, escalated.events[escalated.events.length - 1]!).map((n) => [n.recipient.type, n.kind])).toEqual([
      ['client', 'cancellation_escalated'],
      ['creator', 'cancellation_escalated'],
    ]);
  });

  test('T22: the answer deadline is a no-op 1 ms early, after an answer, and once escalated', () => {
    expect(eventsOf(pending.when({ type: 'cancellation_answer_deadline' }, ANSWER_DUE - 1))).toEqual([]);
    const declined = pending.run({ type: 'cancel_response', actor: CREATOR, accept: false }, REQUESTED_AT + HOUR);
    expect(eventsOf(declined.when({ type: 'cancellation_answer_deadline' }, ANSWER_DUE))).toEqual([]);
    const confirmed = pending.run({ type: 'cancel_response', actor: CREATOR, accept: true }, REQUESTED_AT + HOUR);
    expect(eventsOf(confirmed.when({ type: 'cancellation_answer_deadline' }, ANSWER_DUE))).toEqual([]);
    const escalated = pending.run({ type: 'cancellation_answer_deadline' }, ANSWER_DUE);
    expect(eventsOf(escalated.when({ type: 'cancellation_answer_deadline' }, ANSWER_DUE + DAY))).toEqual([]);
  });

  test('T22: an answer after the request was escalated → deadline_passed', () => {
    const escalated = pending.run({ type: 'cancellation_answer_deadline' }, ANSWER_DUE);
    expect(codeOf(escalated.when({ type: 'cancel_response', actor: CREATOR, accept: true }, ANSWER_DUE + 1))).toBe('deadline_passed');
  });

  test('T22: the order\'s other deadlines keep running: the review deadline still approves automatically', () => {
    const escalated = pending.run({ type: 'cancellation_answer_deadline' }, ANSWER_DUE);
    const reviewDue = T0 + 9 * DAY;
    expect(pendingDeadlines(escalated.state).map((d) => d.kind)).toContain('review');
    const auto = escalated.run({ type: 'review_deadline' }, reviewDue);
    expect(auto.state).toMatchObject({ status: 'approved', pendingCancellation: { escalated: true } });
  });

  test('T22/T13: the balance deadline still cancels a deposit order with a pending request; the request is moot', () => {
    const pendingDeposit = depositAwaiting.run({ type: 'cancel', actor: CLIENT }, ACCEPTED_AT + 6 * DAY);
    expect(pendingDeadlines(pendingDeposit.state).map((d) => d.kind)).toEqual(['balance', 'cancellation_answer', 'publish_overdue']);
    const expired = pendingDeposit.run({ type: 'balance_deadline' }, ACCEPTED_AT + 7 * DAY);
    expect(expired.state).toMatchObject({ status: 'cancelled', cancelReason: 'balance_not_paid', settlement: { forfeitedFen: 10_000n, refundFen: 0n } });
    expect(expired.state.pendingCancellation).toBeUndefined();
    expect(eventsOf(expired.when({ type: 'cancellation_answer_deadline' }, ACCEPTED_AT + 9 * DAY))).toEqual([]);
    expect(codeOf(expired.when({ type: 'cancel_response', actor: CREATOR, accept: true }, ACCEPTED_AT + 7 * DAY + 1))).toBe('deadline_passed');
  });

  describe('O4: arbitration', () => {
    const escalated = pending.run({ type: 'cancellation_answer_deadline' }, ANSWER_DUE);

    test('O4/T20/T23: ops confirm: the initiator\'s (T20) money outcome and reason (who asked), the operator recorded as who decided', () => {
      expect(eventsOf(escalated.when({ type: 'arbitrate', operator: 'ops-7', decision: 'confirm', reason: 'creator silent' }, ANSWER_DUE + DAY))).toEqual([
        { type: 'CancellationArbitrated', by: { type: 'ops', id: 'ops-7' }, decision: 'confirm', reason: 'creator silent', requestedBy: CLIENT },
        {
          type: 'TaskOrderCancelled',
          reason: 'cancelled_by_client_after_acceptance',
          by: { type: 'ops', id: 'ops-7' },
          note: 'creator silent',
          refundFen: 54_999n,
          creatorFen: 50_000n,
          serviceFeeFen: 5_000n,
          forfeitedFen: 0n,
        },
      ]);
    });

    test('O4/T21: ops confirm a creator\'s request: the client gets everything back', () => {
      const creatorEscalated = fullUploaded
        .run({ type: 'cancel', actor: CREATOR }, REQUESTED_AT)
        .run({ type: 'cancellation_answer_deadline' }, ANSWER_DUE);
      expect(eventsOf(creatorEscalated.when({ type: 'arbitrate', operator: 'ops-7', decision: 'confirm', reason: 'r' }, ANSWER_DUE + 1))[1]).toMatchObject({
        reason: 'cancelled_by_creator',
        by: { type: 'ops', id: 'ops-7' },
        refundFen: 109_999n,
        creatorFen: 0n,
        serviceFeeFen: 0n,
      });
    });

    test('O4: a workflow replaying a confirm from before the requester was kept (opsReasonOnConfirm) still records cancelled_by_ops', () => {
      const command = { type: 'arbitrate' as const, operator: 'ops-7', decision: 'confirm' as const, reason: 'r', opsReasonOnConfirm: true };
      expect(eventsOf(escalated.when(command, ANSWER_DUE + DAY))[1]).toMatchObject({ type: 'TaskOrderCancelled', reason: 'cancelled_by_ops' });
    });

    test('O4: ops decline: the order continues where it was; both parties told', () => {
      const declined = escalated.run({ type: 'arbitrate', operator: 'ops-7', decision: 'decline', reason: 'work delivered' }, ANSWER_DUE + DAY);
      expect(declined.since(escalated)).toEqual([
        { type: 'CancellationArbitrated', by: { type: 'ops', id: 'ops-7' }, decision: 'decline', reason: 'work delivered', requestedBy: CLIENT },
      ]);
      expect(declined.state.status).toBe('in_review');
      expect(declined.state.pendingCancellation).toBeUndefined();
      expect(notificationsFor(declined.state, declined.events[declined.events.length - 1]!).map((n) => [n.recipient.type, n.kind])).toEqual([
        ['client', 'cancellation_arbitrated'],
        ['creator', 'cancellation_arbitrated'],
      ]);
    });

    test('O4: arbitration only on an escalated request (pending but not escalated, or none → invalid_state)', () => {
      expect(codeOf(pending.when({ type: 'arbitrate', operator: 'ops-7', decision: 'confirm', reason: 'r' }, REQUESTED_AT + HOUR))).toBe('invalid_state');
      expect(codeOf(fullUploaded.when({ type: 'arbitrate', operator: 'ops-7', decision: 'confirm', reason: 'r' }, REQUESTED_AT))).toBe('invalid_state');
    });

    test('O4/T23: arbitration needs the operator and a reason (validation_failed)', () => {
      expect(codeOf(escalated.when({ type: 'arbitrate', operator: '', decision: 'confirm', reason: 'r' }, ANSWER_DUE + 1))).toBe('validation_failed');
      expect(codeOf(escalated.when({ type: 'arbitrate', operator: 'ops-7', decision: 'confirm', reason: ' ' }, ANSWER_DUE + 1))).toBe('validation_failed');
    });
  });
});
