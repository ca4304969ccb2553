import type { Db } from '../db/connect';
import { IdempotencyConflictError } from '../db/errors';
import type { NewBoostOrderRow, NewCheckoutRow, NewTaskOrderRow } from '../db/schema';
import { loadStreamEventsFrom } from '../db/events';
import { isStreamVersionTaken, writeStreamAppend, type StreamWrite, type TaskOrderRequirement } from '../db/stream-append';
import type { OrderKindOf } from '../domain/order-kind';
import type { RecordedEvent } from '../domain/recorded-event';
import { sameRecordedEvent, toActivityFailure } from './failures';
import { countLedgerPostings } from '../platform/metrics';

/**
 * One order's stream as the append takes it: the kind's definition whole (domain/<kind>/kind.ts:
 * its name, stream id, fold, notifications and ledger postings) and only what storage adds.
 */
export interface OrderStream<S, E extends { readonly type: string }> {
  readonly definition: OrderKindOf<S, E>;
  /** The order's id; its stream's id in order_events and the outbox is `definition.streamId(orderId)`. */
  readonly orderId: string;
  load(db: Db): Promise<Array<RecordedEvent<E>>>;
  readModelRow(state: S): NewTaskOrderRow | NewBoostOrderRow | NewCheckoutRow;
  /** A task order some events require open, checked inside the write (B3's placement). */
  requiresTaskOrder?(events: ReadonlyArray<RecordedEvent<E>>): TaskOrderRequirement | undefined;
  /** Write failures that are this stream's business outcomes (e.g. B3's one boost per task). */
  translateError?(error: unknown): unknown;
}

export interface AppendResult<E = unknown> {
  readonly appended: number;
  readonly alreadyRecorded: number;
  /**
   * Asked for with `returnStored`: the stream as stored from this write's first version on, with
   * each event's causation, when it differs from this write (nothing is written then). The workflow
   * checks and takes it (workflows/order-runtime.ts, `takeStored`).
   */
  readonly stored?: ReadonlyArray<StoredEvent<E>>;
}

/** An event as stored, with the step that caused it. */
export type StoredEvent<E> = RecordedEvent<E> & { readonly causation: string | null };

/** A version already stored with another content (L3), raised inside a plan. */
class StoredDifferentlyError extends IdempotencyConflictError {}

/** A version taken under us is re-read and compared at most this many times. */
const MAX_WRITE_ATTEMPTS = 3;

/** A stream's state as of a version: the fold of its stored events 1…version. */
interface StreamPoint<S> {
  readonly version: number;
  readonly state: S;
}

/**
 * The states this worker last wrote or read, by stream, so the next command's append skips the
 * stream's read (issue 11). Always right: the events up to a version are immutable (unique
 * (order_id, version), no UPDATE for the application's role), so a state at a version never goes
 * stale; a version written meanwhile by another worker makes the write fail as a whole, and that
 * path reads the stream again. Least recently used entries go beyond `maxStreams`.
 */
export class StreamStateCache {
  private readonly points = new Map<string, StreamPoint<unknown>>();
  constructor(private readonly maxStreams = 10_000) {}

  get<S>(key: string): StreamPoint<S> | undefined {
    const point = this.points.get(key);
    if (point === undefined) return undefined;
    this.points.delete(key); // re-inserted: most recently used last
    this.points.set(key, point);
    return point as StreamPoint<S>;
  }

  set<S>(key: string, point: StreamPoint<S>): void {
    const known = this.points.get(key);
    if (known && known.version > point.version) return;
    this.points.delete(key);
    this.points.set(key, point);
    while (this.points.size > this.maxStreams) this.points.delete(this.points.keys().next().value as string);
  }

  get size(): number {
    return this.points.size;
  }
}

/**
 * E1: appends the events, their ledger transactions, the read-model row and the outbox
 * notifications in one database call (one transaction, db/stream-append.ts). Versions are the
 * idempotency key (L3): a retry finds its events already stored and changes nothing; the same
 * version with another content is a conflict that stops the workflow for ops.
 *
 * The stream is read before the write, outside it: (order_id, version) is unique, so a version
 * written meanwhile makes the write fail as a whole, and the stream is read again and compared.
 * The read is skipped for a stream's first event (a placement: the stream is almost always empty
 * then) and when `cache` has the state just before the first event (the worker's last write).
 */
export async function appendToStream<S, E extends { readonly type: string }>(
  db: Db,
  stream: OrderStream<S, E>,
  events: ReadonlyArray<RecordedEvent<E>>,
  causation: string,
  cache?: StreamStateCache,
  returnStored = false,
): Promise<AppendResult<E>> {
  const { kind, streamId } = streamOf(stream);
  const key = `${kind}:${streamId}`;
  try {
    const first = events[0]?.version;
    const cached = cache?.get<S>(key);
    let base: StreamBase<S, E> =
      first === 1 ? EMPTY_BASE : cached && first === cached.version + 1 ? { ...cached, stored: [] } : baseOf(stream, await stream.load(db));
    for (let attempt = 1; ; attempt += 1) {
      const { write, result, after } = planAppendFrom(stream, base, events, causation);
      if (write === undefined) {
        if (after) cache?.set(key, after);
        return result;
      }
      try {
        const posted = await writeStreamAppend(db, write);
        if (after) cache?.set(key, after);
        // SPEC §10 ledger postings. The function says how many it posted (a stored identical one is
        // not posted again); a write's transactions are new with its events, so that is all of them.
        countLedgerPostings(write.ledger.slice(0, posted).map((l) => l.tx.kind));
        return result;
      } catch (error) {
        if (!isStreamVersionTaken(error) || attempt >= MAX_WRITE_ATTEMPTS) throw error;
        base = baseOf(stream, await stream.load(db));
      }
    }
  } catch (error) {
    if (returnStored && error instanceof StoredDifferentlyError) return { appended: 0, alreadyRecorded: 0, stored: await storedFrom(db, stream, events) };
    throw toActivityFailure(stream.translateError?.(error) ?? error);
  }
}

/**
 * L3 after a lost workflow task: a task that wrote through a local activity and was then lost (its
 * worker killed, the server restarted or refusing its completion) runs its steps again at a later
 * workflow time, maybe in another order, and meets its own first attempt's events. Those stand
 * (they may have been delivered: notifications, postings); a workflow that can check them asks for
 * them instead of a conflict.
 */
async function storedFrom<S, E extends { readonly type: string }>(db: Db, stream: OrderStream<S, E>, events: ReadonlyArray<RecordedEvent<E>>): Promise<Array<StoredEvent<E>>> {
  const { kind, streamId } = streamOf(stream);
  return loadStreamEventsFrom<E>(db, kind, streamId, events[0]?.version ?? 1);
}

/** Where an append starts: the state at a version, and the stored events it may meet again (a retry). */
interface StreamBase<S, E> {
  readonly version: number;
  readonly state: S | undefined;
  readonly stored: ReadonlyArray<RecordedEvent<E>>;
}

const EMPTY_BASE = { version: 0, state: undefined, stored: [] } as const;

/** The stream's kind and id, as order_events and the outbox store them. */
function streamOf<S, E extends { readonly type: string }>(stream: OrderStream<S, E>): { kind: StreamWrite['kind']; streamId: string } {
  return { kind: stream.definition.kind, streamId: stream.definition.streamId(stream.orderId) };
}

function baseOf<S, E extends { readonly type: string }>(stream: OrderStream<S, E>, stored: ReadonlyArray<RecordedEvent<E>>): StreamBase<S, E> {
  return { version: stored[stored.length - 1]?.version ?? 0, state: stored.reduce<S | undefined>((s, e) => stream.definition.evolve(s, e), undefined), stored };
}

/** What to write for `events` given the `stored` stream; throws IdempotencyConflictError (L3). */
export function planAppend<S, E extends { readonly type: string }>(
  stream: OrderStream<S, E>,
  stored: ReadonlyArray<RecordedEvent<E>>,
  events: ReadonlyArray<RecordedEvent<E>>,
  causation: string,
): { write: StreamWrite | undefined; result: AppendResult<E> } {
  const { write, result } = planAppendFrom(stream, baseOf(stream, stored), events, causation);
  return { write, result };
}

/** planAppend from a known state; `after` is the stream's state once the write is stored. */
function planAppendFrom<S, E extends { readonly type: string }>(
  stream: OrderStream<S, E>,
  base: StreamBase<S, E>,
  events: ReadonlyArray<RecordedEvent<E>>,
  causation: string,
): { write: StreamWrite | undefined; result: AppendResult<E>; after: StreamPoint<S> | undefined } {
  const { definition } = stream;
  const { kind, streamId } = streamOf(stream);
  let { state, version } = base;
  const toWrite: Array<RecordedEvent<E>> = [];
  const notifications: Array<StreamWrite['notifications'][number]> = [];
  const ledger: Array<StreamWrite['ledger'][number]> = [];
  for (const recorded of events) {
    const existing = base.stored.find((e) => e.version === recorded.version);
    if (existing) {
      if (!sameRecordedEvent(existing, recorded)) {
        throw new StoredDifferentlyError(`event ${streamId} v${recorded.version} is stored with a different content (L3)`);
      }
      continue;
    }
    if (recorded.version !== version + 1) {
      throw new IdempotencyConflictError(`event ${streamId} v${recorded.version} does not follow v${version}`);
    }
    const before = state;
    state = definition.evolve(before, recorded);
    version = recorded.version;
    toWrite.push(recorded);
    for (const notification of definition.notificationsFor(state, recorded)) notifications.push({ eventVersion: recorded.version, notification });
    const tx = definition.ledgerTransactionFor(before, recorded);
    // A movement of 0 fen (e.g. a 0-fen boost fee) posts nothing.
    if (tx && tx.transfers.length > 0) ledger.push({ tx, occurredAt: new Date(recorded.occurredAt) });
  }
  const result = { appended: toWrite.length, alreadyRecorded: events.length - toWrite.length };
  const after = state === undefined ? undefined : { version, state };
  if (toWrite.length === 0 || state === undefined) return { write: undefined, result, after };
  const requiresTaskOrder = stream.requiresTaskOrder?.(toWrite);
  return {
    write: {
      kind,
      streamId,
      causation,
      events: toWrite,
      notifications,
      readModel: stream.readModelRow(state),
      ledger,
      ...(requiresTaskOrder === undefined ? {} : { requiresTaskOrder }),
    },
    result,
    after,
  };
}
