import { placement, placementBody } from './support/fixtures';
import { authHeader, withStack } from './support/stack';

/**
 * Issue 11, lever 1: a command's answer (and a placement's) is built from its Update's result —
 * the workflow's state after it — instead of the order read back from the read model. It must be
 * the very answer the read model gives: the same bytes as a GET of the order right after it, on
 * every path (§8 commands, T1–T18, a deposit with a price change and its restore, a cancellation
 * request answered), and a refusal still answers as before (404 first, then 409).
 */
const stack = withStack('dev');

async function raw(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const response = await fetch(`${stack.baseUrl}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...authHeader('backend') },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, text: await response.text() };
}

/** POSTs, then GETs the order: the two bodies are byte-identical. */
async function answersAsRead(orderId: string, path: string, body: unknown, status: number): Promise<Record<string, unknown>> {
  const answer = await raw('POST', path, body);
  expect(answer.status).toBe(status);
  const read = await raw('GET', `/v1/task-orders/${orderId}`);
  expect(read.status).toBe(200);
  expect(answer.text).toBe(read.text);
  return JSON.parse(answer.text) as Record<string, unknown>;
}

describe('issue 11: answers from the Update result are the read model’s, byte for byte', () => {
  test('T1–T18 full mode with a review cycle: every answer equals the GET after it', async () => {
    const p = placement();
    const o = `/v1/task-orders/${p.orderId}`;
    const creator = { type: 'creator', id: p.creatorId };
    const client = { type: 'client', id: p.clientId };
    expect((await answersAsRead(p.orderId, '/v1/task-orders', placementBody(p), 201)).status).toBe('awaiting_acceptance');
    await answersAsRead(p.orderId, `${o}/remind`, { actor: client }, 200);
    await answersAsRead(p.orderId, `${o}/accept`, { actor: creator }, 200);
    await answersAsRead(p.orderId, `${o}/videos`, { actor: creator, draftId: 'd1' }, 200);
    await answersAsRead(p.orderId, `${o}/reviews`, { actor: client, decision: 'request_changes', comment: 'shorter, with ünïcode ✓' }, 200);
    await answersAsRead(p.orderId, `${o}/videos`, { actor: creator, draftId: 'd2', videoUrl: 'https://example.com/v.mp4' }, 200);
    await answersAsRead(p.orderId, `${o}/cancel`, { actor: client, reason: 'changed plans' }, 200);
    await answersAsRead(p.orderId, `${o}/cancel-response`, { actor: creator, accept: false, reason: 'nearly done' }, 200);
    await answersAsRead(p.orderId, `${o}/reviews`, { actor: client, decision: 'approve' }, 200);
    const done = await answersAsRead(p.orderId, `${o}/publish`, { actor: creator, videoId: 'v1', publishedAt: new Date().toISOString() }, 200);
    expect(done.status).toBe('completed');
    expect(done.settlement).not.toBeNull();
  }, 60_000);

  test('T4, T9, T10, T12 deposit mode with a price change and its restore: every answer equals the GET after it', async () => {
    const p = placement({ paymentMode: 'deposit' });
    const o = `/v1/task-orders/${p.orderId}`;
    const creator = { type: 'creator', id: p.creatorId };
    const client = { type: 'client', id: p.clientId };
    await answersAsRead(p.orderId, '/v1/task-orders', placementBody(p), 201);
    await answersAsRead(p.orderId, `${o}/accept`, { actor: creator, newPriceFen: 120_000 }, 200);
    await answersAsRead(p.orderId, `${o}/restore-price`, { actor: client }, 200);
    const paid = await answersAsRead(p.orderId, `${o}/pay-balance`, { actor: client, funding: { source: 'external', paymentRef: `bal-${p.orderId}` } }, 200);
    expect(paid.status).toBe('in_production');
  }, 60_000);

  test('§8 refusals are unchanged: an unknown order 404, a command in the wrong state 409, nothing read before', async () => {
    const missing = await raw('POST', `/v1/task-orders/o-${Date.now().toString(36)}-missing/accept`, { actor: { type: 'creator', id: 'creator-1' } });
    expect([missing.status, (JSON.parse(missing.text) as { error: { code: string } }).error.code]).toEqual([404, 'not_found']);
    const p = placement();
    await answersAsRead(p.orderId, '/v1/task-orders', placementBody(p), 201);
    const early = await raw('POST', `/v1/task-orders/${p.orderId}/publish`, { actor: { type: 'creator', id: p.creatorId }, videoId: 'v', publishedAt: new Date().toISOString() });
    expect([early.status, (JSON.parse(early.text) as { error: { code: string } }).error.code]).toEqual([409, 'invalid_state']);
  }, 60_000);
});
