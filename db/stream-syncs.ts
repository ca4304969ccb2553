import { sql } from 'kysely';
import type { Db } from './connect';

/** L3 (issue 21): workflows to be told to look in their stream (migration 0014, api/stream-sync.ts). */

/** How long a claimed row stays with the process that claimed it before another may send it again. */
const LEASE_SECONDS = 30;
const MAX_ERROR_CHARS = 500;

/** Asks for a sync of `workflowId`, due in `delayMs` (an earlier request already due keeps its time). */
export async function requestStreamSync(db: Db, workflowId: string, delayMs: number): Promise<void> {
  await db
    .insertInto('stream_syncs')
    .values({ workflow_id: workflowId, due_at: sql<Date>`now() + make_interval(secs => ${delayMs / 1000})` })
    .onConflict((oc) => oc.column('workflow_id').doUpdateSet({ due_at: sql<Date>`least(stream_syncs.due_at, excluded.due_at)` }))
    .execute();
}

/** Claims up to `limit` due rows for this process (a lease of LEASE_SECONDS); rows another holds are skipped. */
export async function claimDueStreamSyncs(db: Db, limit: number): Promise<string[]> {
  const { rows } = await sql<{ workflow_id: string }>`
    update stream_syncs set due_at = now() + make_interval(secs => ${LEASE_SECONDS}), attempts = attempts + 1
    where workflow_id in (select workflow_id from stream_syncs where due_at <= now() order by due_at limit ${limit} for update skip locked)
    returning workflow_id`.execute(db);
  return rows.map((r) => r.workflow_id);
}

/** The signal reached the workflow (or it has closed): nothing more to do. */
export async function finishStreamSync(db: Db, workflowId: string): Promise<void> {
  await db.deleteFrom('stream_syncs').where('workflow_id', '=', workflowId).execute();
}

/** The signal could not be sent: the row stays, due again when its lease ends, with the error for ops. */
export async function recordStreamSyncError(db: Db, workflowId: string, error: string): Promise<void> {
  await db.updateTable('stream_syncs').set({ last_error: error.slice(0, MAX_ERROR_CHARS) }).where('workflow_id', '=', workflowId).execute();
}
