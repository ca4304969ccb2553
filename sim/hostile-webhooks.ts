import type pg from 'pg';
import type { FaultRecord } from './faults';
import type { InvariantResult } from './invariants';
import type { Violation } from './types';
import type { Arrival } from './webhook-receiver';

/**
 * SPEC §10 "Hostile peers" (issue 18): the simulation's hostile receiver (sim/webhook-receiver.ts,
 * `hostile`) answers 200 with NUL bytes and answers slowly. Besides the invariants every endpoint
 * has (checkWebhooks: each event delivered with its own id and body, in order per order, nothing
 * given up), every POST it answered must be a recorded attempt: an answer the database cannot
 * store once made the loop resend the event every lease, with no attempt ever recorded.
 *
 * An answer may go unrecorded only when a fault explains it: a worker killed between the answer and
 * the recording, or PostgreSQL away while recording (then nothing can be written; the lease runs
 * out). Answers from twice the delivery timeout before such a fault (worker-kill, pg-restart,
 * pg-terminate) to `graceMs` after its recovery are therefore not counted against the attempts;
 * they are reported. An API kill or a Temporal restart excuses nothing: the loop does not use them.
 */
const RECORDING_FAULTS: ReadonlySet<string> = new Set(['worker-kill', 'pg-restart', 'pg-terminate']);

export async function checkHostileWebhooks(pool: pg.Pool, endpointId: string, arrivals: readonly Arrival[], faults: readonly FaultRecord[], options: { deliveryTimeoutMs: number; graceMs: number }): Promise<InvariantResult> {
  const name = 'hostile webhooks recorded';
  const { rows } = await pool.query<{ id: string; n: number }>(
    `select notification_id::text as id, count(*)::int as n from webhook_attempts where endpoint_id = $1 group by notification_id`,
    [endpointId],
  );
  const recorded = new Map(rows.map((r) => [`evt_${r.id}`, r.n]));
  const inFault = (a: Arrival) => faults.some((f) => RECORDING_FAULTS.has(f.kind) && a.arrivedAtMs >= f.startedAtMs - 2 * options.deliveryTimeoutMs && a.arrivedAtMs <= f.recoveredAtMs + options.graceMs);
  const answered = new Map<string, number>();
  let excused = 0;
  for (const a of arrivals) {
    if (a.status === 0) continue; // never answered (the sender timed out or was killed): not required to be a row
    if (inFault(a)) excused += 1;
    else answered.set(a.webhookId, (answered.get(a.webhookId) ?? 0) + 1);
  }
  const violations: Violation[] = [];
  for (const id of new Set(arrivals.map((a) => a.webhookId))) {
    const n = recorded.get(id) ?? 0;
    if (n === 0) violations.push({ invariant: name, message: `${id} was POSTed ${arrivals.filter((a) => a.webhookId === id).length} times to the hostile endpoint and no attempt is recorded` });
    else if (n < (answered.get(id) ?? 0)) violations.push({ invariant: name, message: `${id}: ${answered.get(id)} answers outside any fault, only ${n} attempts recorded (an answer the loop could not record)` });
  }
  const count = (mode: Arrival['mode']) => arrivals.filter((a) => a.mode === mode).length;
  const late = arrivals.filter((a) => a.mode === 'slow' && a.status === 0).length;
  return {
    name,
    violations: violations.slice(0, 50),
    counts: `${arrivals.length} arrivals: ${count('nul')} answered 200 with NUL bytes, ${count('slow')} slow (${late} past the timeout); ${rows.reduce((n, r) => n + r.n, 0)} attempts recorded; ${excused} answers within fault windows not counted`,
  };
}
