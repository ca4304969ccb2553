import { sql } from 'kysely';
import { createClaimKeeper, IDEMPOTENCY_RETENTION_HOURS, type Claim, type ClaimAttempt, type ClaimKeeper } from '../api/idempotency-claims';
import { createTestDatabase, type TestDatabase } from './support/db';

/**
 * SPEC §8 the claims of `Idempotency-Key` (api/idempotency-claims.ts) on a real PostgreSQL, with
 * several keepers on one database standing for several API instances: one statement per claim
 * attempt tells a new key, a replay, a mismatch and a request in flight apart; a crashed instance's
 * claim is taken over only after its lease; only requests longer than a third of the lease are
 * renewed; expired keys are purged off the request path.
 */
let database: TestDatabase;
const keepers: ClaimKeeper[] = [];
const LEASE_SECONDS = 2;
const noLog = () => undefined;

beforeAll(async () => {
  database = await createTestDatabase();
}, 60_000);

afterAll(async () => {
  await Promise.all(keepers.map((k) => k.close()));
  await database?.drop();
});

function keeper(): ClaimKeeper {
  const created = createClaimKeeper(database.db, { leaseSeconds: LEASE_SECONDS });
  keepers.push(created);
  return created;
}

let n = 0;
const newKey = () => `k-${Date.now().toString(36)}-${(n += 1)}`;
const hashOf = (c: string) => c.repeat(64);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function claimed(attempt: ClaimAttempt): Claim {
  if (attempt.kind !== 'claimed') throw new Error(`expected a claim, got ${JSON.stringify(attempt)}`);
  return attempt.claim;
}

async function rowOf(key: string) {
  return database.db.selectFrom('idempotency_keys').selectAll().where('key', '=', key).executeTakeFirst();
}

describe('§8 Idempotency-Key claims', () => {
  test('issue 11: a request with a key costs one statement to claim and one to finish, with no renewal when it is short; a replay costs one', async () => {
    const statements: string[] = [];
    const counted = database.db.withPlugin({
      transformQuery: (args) => {
        statements.push(args.node.kind);
        return args.node;
      },
      transformResult: async (args) => args.result,
    });
    const k = createClaimKeeper(counted, { leaseSeconds: LEASE_SECONDS });
    keepers.push(k);
    const key = newKey();
    const mine = claimed(await k.claim('backend', key, hashOf('a')));
    expect(statements).toHaveLength(1);
    await sleep(LEASE_SECONDS * 250); // a short request: several upkeep ticks, none due
    await k.finish(mine, { kind: 'complete', statusCode: 200, contentType: null, body: 'done' }, noLog);
    expect(statements).toHaveLength(2);
    expect(await k.claim('backend', key, hashOf('a'))).toMatchObject({ kind: 'stored', stored: { status_code: 200, response_body: 'done' } });
    expect(await k.claim('backend', key, hashOf('f'))).toMatchObject({ kind: 'stored', stored: { request_hash: hashOf('a') } });
    expect(statements).toHaveLength(4);
  });

  test('a new key is claimed; then the same statement tells replay, mismatch and in flight apart; roles are separate', async () => {
    const k = keeper();
    const key = newKey();
    const first = claimed(await k.claim('backend', key, hashOf('a')));
    // In flight: the row as stored, no response yet (whatever the fingerprint).
    expect(await k.claim('backend', key, hashOf('a'))).toEqual({ kind: 'stored', stored: { request_hash: hashOf('a'), status_code: null, content_type: null, response_body: null } });
    // Another role's key of the same name is another key.
    claimed(await k.claim('ops', key, hashOf('b')));
    await k.finish(first, { kind: 'complete', statusCode: 201, contentType: 'application/json; charset=utf-8', body: '{"x":1}' }, noLog);
    expect(await k.claim('backend', key, hashOf('a'))).toEqual({
      kind: 'stored',
      stored: { request_hash: hashOf('a'), status_code: 201, content_type: 'application/json; charset=utf-8', response_body: '{"x":1}' },
    });
    // A mismatch: the caller compares the fingerprint; the row is untouched.
    expect(await k.claim('backend', key, hashOf('c'))).toMatchObject({ kind: 'stored', stored: { request_hash: hashOf('a'), status_code: 201 } });
  });

  test('many concurrent claims of one key from four instances: exactly one wins, every other sees it in flight or raced', async () => {
    const instances = [keeper(), keeper(), keeper(), keeper()];
    const key = newKey();
    const attempts = await Promise.all(Array.from({ length: 40 }, (_, i) => (instances[i % 4] as ClaimKeeper).claim('backend', key, hashOf('a'))));
    const winners = attempts.filter((a) => a.kind === 'claimed');
    expect(winners).toHaveLength(1);
    for (const a of attempts) {
      if (a.kind === 'stored') expect(a.stored).toEqual({ request_hash: hashOf('a'), status_code: null, content_type: null, response_body: null });
    }
    expect((await rowOf(key))?.status_code).toBeNull();
  });

  test('a released key (a 5xx) is claimed again at once by the same request, and stays bound to it (§8: another request under it is a mismatch, as a 503\'s command may have run); a lost claim cannot release or overwrite its successor', async () => {
    const k = keeper();
    const key = newKey();
    const first = claimed(await k.claim('backend', key, hashOf('a')));
    await k.finish(first, { kind: 'release' }, noLog);
    expect(await rowOf(key)).toMatchObject({ request_hash: hashOf('a'), status_code: null });
    // Another request under the key: the row as stored (the HTTP layer answers 422 idempotency_mismatch).
    expect(await k.claim('backend', key, hashOf('b'))).toMatchObject({ kind: 'stored', stored: { request_hash: hashOf('a'), status_code: null } });
    const second = claimed(await k.claim('backend', key, hashOf('a')));
    // The first claim's finish arriving late (its token is gone) touches nothing.
    await k.finish({ ...first }, { kind: 'complete', statusCode: 200, contentType: null, body: 'stale' }, noLog);
    expect((await rowOf(key))?.status_code).toBeNull();
    await k.finish(second, { kind: 'complete', statusCode: 201, contentType: null, body: 'fresh' }, noLog);
    expect(await rowOf(key)).toMatchObject({ status_code: 201, response_body: 'fresh' });
  });

  test('a crash between claim and finish: the key is in flight until the lease lapses, then another instance takes it; the dead one can no longer store', async () => {
    const crashed = keeper();
    const key = newKey();
    const dead = claimed(await crashed.claim('backend', key, hashOf('a')));
    await crashed.close(); // the process dies: no renewal, no finish
    const other = keeper();
    expect(await other.claim('backend', key, hashOf('a'))).toMatchObject({ kind: 'stored', stored: { status_code: null } });
    const started = Date.now();
    let taken: Claim | undefined;
    while (!taken && Date.now() - started < 3 * LEASE_SECONDS * 1000) {
      const attempt = await other.claim('backend', key, hashOf('a'));
      if (attempt.kind === 'claimed') taken = attempt.claim;
      else await sleep(100);
    }
    expect(taken).toBeDefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(LEASE_SECONDS * 1000 - 500);
    expect(taken?.token).not.toBe(dead.token);
    // Had the dead process come back, its finish would not overwrite the new claim's row.
    const revived = keeper();
    await revived.finish(dead, { kind: 'complete', statusCode: 200, contentType: null, body: 'from the dead' }, noLog);
    expect((await rowOf(key))?.status_code).toBeNull();
    await other.finish(taken as Claim, { kind: 'complete', statusCode: 201, contentType: null, body: 'ok' }, noLog);
    expect(await rowOf(key)).toMatchObject({ status_code: 201, response_body: 'ok' });
  }, 20_000);

  test('only a request longer than a third of the lease is renewed; a renewed claim keeps its key past the lease and still stores', async () => {
    const k = keeper();
    const short = newKey();
    const shortClaim = claimed(await k.claim('backend', short, hashOf('a')));
    const shortCreated = (await rowOf(short))?.created_at;
    const long = newKey();
    const longClaim = claimed(await k.claim('backend', long, hashOf('a')));
    const longCreated = (await rowOf(long))?.created_at;
    await sleep(LEASE_SECONDS * 200); // well under a third of the lease
    await k.finish(shortClaim, { kind: 'complete', statusCode: 200, contentType: null, body: 'short' }, noLog);
    expect((await rowOf(short))?.created_at).toEqual(shortCreated); // never renewed

    await sleep(LEASE_SECONDS * 1500); // past the lease: renewed meanwhile, so nobody can take it
    expect((await rowOf(long))?.created_at.getTime()).toBeGreaterThan(longCreated?.getTime() ?? Infinity);
    expect(await keeper().claim('backend', long, hashOf('a'))).toMatchObject({ kind: 'stored', stored: { status_code: null } });
    await k.finish(longClaim, { kind: 'complete', statusCode: 201, contentType: null, body: 'long' }, noLog);
    expect(await rowOf(long)).toMatchObject({ status_code: 201, response_body: 'long' });
  }, 20_000);

  test('expired keys are purged in bounded batches, and an expired key is claimed afresh; unexpired keys stay', async () => {
    const k = keeper();
    const kept = newKey();
    claimed(await k.claim('backend', kept, hashOf('a')));
    const old = Array.from({ length: 2500 }, () => newKey());
    await sql`insert into idempotency_keys (role, key, request_hash, status_code, response_body, created_at, completed_at)
      select 'backend', k, ${hashOf('a')}, 201, 'old', now() - make_interval(hours => ${IDEMPOTENCY_RETENTION_HOURS + 1}::int), now() - make_interval(hours => ${IDEMPOTENCY_RETENTION_HOURS + 1}::int)
      from unnest(${old}::text[]) as k`.execute(database.db);
    const again = claimed(await k.claim('backend', old[0] as string, hashOf('b'))); // expired: claimed with the new request
    expect(again.hash).toBe(hashOf('b'));
    await k.purgeExpired();
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from idempotency_keys where key = any(${old}::text[])`.execute(database.db);
    expect(rows[0]?.n).toBe('1'); // the one claimed afresh
    expect(await rowOf(kept)).toBeDefined();
  });
});
