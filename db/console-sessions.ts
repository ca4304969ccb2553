import type { Db } from './connect';

/**
 * F6/issue 18: the server-side record of signed-out console sessions (migration 0010). A session
 * is a sealed cookie with a random id; it is valid until it expires unless its id is here.
 */

/** Records that session `sessionId` is signed out; rows of sessions past their expiry are purged on the way. */
export async function revokeConsoleSession(db: Db, sessionId: string, expiresAt: Date): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await tx.insertInto('console_session_revocations').values({ session_id: sessionId, expires_at: expiresAt }).onConflict((c) => c.column('session_id').doNothing()).execute();
    // An expired session is refused by its own expiry: its row is no longer needed.
    await tx.deleteFrom('console_session_revocations').where('expires_at', '<', new Date()).execute();
  });
}

/** Whether session `sessionId` was signed out. */
export async function isConsoleSessionRevoked(db: Db, sessionId: string): Promise<boolean> {
  const row = await db.selectFrom('console_session_revocations').select('session_id').where('session_id', '=', sessionId).executeTakeFirst();
  return row !== undefined;
}
