import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { Webhook } from 'standardwebhooks';
import { createSecretBox } from '../platform/secret-box';
import { placement, placementBody } from './support/fixtures';
import { until } from './support/until';
import { authHeader, withStack } from './support/stack';

/**
 * E5: signing secrets at rest. With WEBHOOK_SECRETS_KEY set (here for the API and the delivery
 * loop of this process, as compose sets it for every container), the database holds no secret:
 * only `enc1.…` values under the key; deliveries still verify with the independent
 * `standardwebhooks` package, during a rotation with both signatures. A stored value the key
 * cannot open (the key changed without a rotation) sends nothing and is recorded as an attempt
 * `secret_unreadable`, so the endpoint backs off and shows as failing like any other.
 */
const KEY = Buffer.alloc(32, 7);
const KNOBS = { backoffBaseMs: 200, backoffMaxMs: 800, timeoutMs: 1500, leaseMs: 2500, pollIntervalMs: 100 };
let previousKey: string | undefined;
beforeAll(() => {
  previousKey = process.env.WEBHOOK_SECRETS_KEY;
  process.env.WEBHOOK_SECRETS_KEY = KEY.toString('base64');
});
const stack = withStack('dev', { webhooks: KNOBS });
afterAll(async () => {
  if (previousKey === undefined) delete process.env.WEBHOOK_SECRETS_KEY;
  else process.env.WEBHOOK_SECRETS_KEY = previousKey;
  await receiver?.close();
});

interface Received { id: string; timestamp: string; signature: string; body: string }
let receiver: { url: string; received: Received[]; close: () => Promise<void> } | undefined;

async function startReceiver(): Promise<NonNullable<typeof receiver>> {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ id: String(req.headers['webhook-id']), timestamp: String(req.headers['webhook-timestamp']), signature: String(req.headers['webhook-signature']), body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    received,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

const verifies = (r: Received, secret: string) => {
  try {
    new Webhook(secret).verify(r.body, { 'webhook-id': r.id, 'webhook-timestamp': r.timestamp, 'webhook-signature': r.signature });
    return true;
  } catch {
    return false;
  }
};

async function placeOrder(tag: string): Promise<void> {
  const p = placement({ clientId: `c-sec-${tag}`, creatorId: `k-sec-${tag}` });
  const placed = await stack.post('/v1/task-orders', placementBody(p));
  expect(placed.status).toBe(201);
}

const storedSecrets = async (endpointId: string) =>
  (await sql<{ secret: string; previous_secret: string | null }>`select secret, previous_secret from webhook_endpoints where endpoint_id = ${endpointId}`.execute(stack.database.db)).rows[0]!;

test('E5: with WEBHOOK_SECRETS_KEY the database holds only sealed secrets; deliveries verify, with two signatures during a rotation; a value the key cannot open sends nothing and is recorded as secret_unreadable', async () => {
  receiver = await startReceiver();
  const created = await stack.post('/v1/webhook-endpoints', { url: receiver.url, eventTypes: ['new_task'] });
  expect(created.status).toBe(201);
  const { endpointId } = created.body.endpoint as { endpointId: string };
  const secret = created.body.secret as string;
  expect(secret).toMatch(/^whsec_/);
  const stored = await storedSecrets(endpointId);
  expect(stored.secret).toMatch(/^enc1\./);
  expect(stored.secret).not.toContain(secret.slice('whsec_'.length));
  expect(createSecretBox(KEY).open(stored.secret, endpointId)).toBe(secret);

  await placeOrder(`a-${Date.now().toString(36)}`);
  const first = await until('the first delivery', () => receiver!.received[0]);
  expect(verifies(first, secret)).toBe(true);

  // Rotation with grace: both stored sealed, and the next event carries both signatures.
  const rotated = await stack.post(`/v1/webhook-endpoints/${endpointId}/rotate-secret`, { graceSeconds: 3600 });
  expect(rotated.status).toBe(200);
  const next = rotated.body.secret as string;
  const afterRotation = await storedSecrets(endpointId);
  expect([afterRotation.secret, afterRotation.previous_secret]).toEqual([expect.stringMatching(/^enc1\./), stored.secret]);
  await placeOrder(`b-${Date.now().toString(36)}`);
  const second = await until('the delivery after the rotation', () => receiver!.received[1]);
  expect([verifies(second, next), verifies(second, secret)]).toEqual([true, true]);

  // The key changed without a rotation: the stored value no longer opens.
  const sealedElsewhere = createSecretBox(Buffer.alloc(32, 9)).seal(next, endpointId);
  await sql`update webhook_endpoints set secret = ${sealedElsewhere}, previous_secret = null, previous_secret_expires_at = null where endpoint_id = ${endpointId}`.execute(stack.database.db);
  await placeOrder(`c-${Date.now().toString(36)}`);
  const ops = authHeader('ops');
  const listed = await until('an attempt recorded secret_unreadable', async () => {
    const page = await stack.get(`/v1/webhook-endpoints/${endpointId}/deliveries`, ops);
    return (page.body.deliveries as Array<{ lastOutcome: string | null; status: string; attempts: Array<{ outcome: string; error: string | null }> }>).find((d) => d.lastOutcome === 'secret_unreadable');
  });
  expect(listed.status).toBe('pending');
  expect(listed.attempts[0]).toMatchObject({ outcome: 'secret_unreadable', error: expect.stringContaining('WEBHOOK_SECRETS_KEY') });
  expect(listed.attempts[0]!.error).not.toContain(next.slice('whsec_'.length));
  expect(receiver.received).toHaveLength(2); // nothing sent unsigned or badly signed
}, 90_000);
