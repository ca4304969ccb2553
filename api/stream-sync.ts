import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Db } from '../db/connect';
import { claimDueStreamSyncs, finishStreamSync, recordStreamSyncError, requestStreamSync } from '../db/stream-syncs';
import { syncStreamSignal } from '../workflows/stream-sync-api';

/**
 * L3 (issue 21): tells an order's workflow to look in its stream when the API could not learn an
 * Update's outcome. A command's write runs inside the Update's workflow task (SPEC §10 Speed); if
 * that task is lost (Temporal restarted under it) the write may be stored while the workflow never
 * heard of it, and the caller, told 503, may never send the command again. The request is kept in
 * PostgreSQL (stream_syncs), so an API killed meanwhile loses nothing, and any API process sends it.
 */
export interface StreamSyncer {
  /** The outcome of an Update on `workflowId` stayed unknown. Never throws: kept in memory until stored. */
  request(workflowId: string): void;
  /** Stops the loop after the round in progress. */
  stop(): Promise<void>;
}

export interface StreamSyncerOptions {
  readonly db: Db;
  readonly client: Client;
  /** How often the loop stores requests and sends the due ones (default 2 s). */
  readonly intervalMs?: number;
  /** How long after a request its signal is due (default 2 s: the Update's own retries go first). */
  readonly delayMs?: number;
  readonly log?: (message: string, error?: unknown) => void;
}

/** Limits (TigerStyle): requests held in memory while PostgreSQL is away; signals sent per round. */
const MAX_HELD = 10_000;
const BATCH = 50;

export function startStreamSyncer({ db, client, intervalMs = 2_000, delayMs = 2_000, log = () => undefined }: StreamSyncerOptions): StreamSyncer {
  const held = new Set<string>();
  let stopped = false;
  let round: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  async function store(): Promise<void> {
    for (const workflowId of [...held]) {
      await requestStreamSync(db, workflowId, delayMs);
      held.delete(workflowId);
    }
  }

  async function send(): Promise<void> {
    for (const workflowId of await claimDueStreamSyncs(db, BATCH)) {
      try {
        await client.workflow.getHandle(workflowId).signal(syncStreamSignal);
        await finishStreamSync(db, workflowId);
      } catch (error) {
        // A workflow that has closed took every step it will ever need (its closing step met them).
        if (error instanceof WorkflowNotFoundError) await finishStreamSync(db, workflowId);
        else await recordStreamSyncError(db, workflowId, String(error));
      }
    }
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      round = store()
        .then(send)
        .catch((error: unknown) => log('stream sync: a round failed; it runs again', error))
        .finally(schedule);
    }, intervalMs);
    timer.unref();
  }
  schedule();

  return {
    request(workflowId) {
      if (held.size >= MAX_HELD) {
        log(`stream sync: ${MAX_HELD} requests held while PostgreSQL is away; ${workflowId} dropped`);
        return;
      }
      held.add(workflowId);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await round;
    },
  };
}
