import { DEFAULT_BOOST_POLICY, assertValidBoostPolicy, type BoostPolicy } from '../domain/boost/policy';
import { DEFAULT_TASK_POLICY, type TaskPolicy } from '../domain/task-order/policy';
import type { SimPolicy } from './types';

/**
 * The simulation's durations (SPEC §1 policy snapshot, SPEC §10 "Proof"): every deadline of a task
 * order and the boost period shrunk from hours and days to seconds, so that a run of a few minutes
 * sees each of them fire, and sees commands race them.
 *
 * - T6 acceptance 20 s, T12 balance 20 s, T17 review 20 s: long enough that a lifecycle which means
 *   to act in time does (a command takes well under a second, even with a dozen lifecycles running
 *   at once), short enough that one that waits past a deadline sleeps ~25 s, so a lifecycle stays
 *   within its ~90 s budget even when it waits for two of them.
 * - T22 cancellation answer 15 s: shorter than the others, so an unanswered request escalates
 *   (awaiting arbitration, O1) while the order's balance or review deadline is still running —
 *   "the order's other deadlines keep running" gets exercised.
 * - T8 reminder interval 5 s: a concurrent batch of reminders always meets the rate limit, two
 *   reminders a few seconds apart sometimes do and sometimes do not.
 * - B5/B6 boost period 20 s from the published video's `publishedAt`: the lifecycle posts a view
 *   count before and after it. B4 (one calendar month) and B7 (7 business days) cannot be scaled:
 *   the policy counts them in months and business days, so in a run a boost refund is posted only
 *   when finance releases it (F5), and no boost expires.
 * - timerLagMs 3 s: how late the reference model lets a timer fire after its due time on a
 *   healthy stack (a Temporal timer, a workflow task and an activity); a run with faults (workers
 *   killed) should raise it (the model then treats more races as undecided, never as wrong).
 *
 * Rates (T2 10%, T9 ±20%, T20 50%, B1/B2 premiums) stay as in production.
 */
export const SIM_POLICY: SimPolicy = {
  acceptanceMs: 20_000,
  balanceMs: 20_000,
  reviewMs: 20_000,
  cancellationAnswerMs: 15_000,
  remindIntervalMs: 5_000,
  boostPeriodMs: 20_000,
  timerLagMs: 3_000,
};

/** The task policy the simulation's API places task orders with (domain/task-order/policy.ts). */
export function simTaskPolicy(sim: SimPolicy = SIM_POLICY): TaskPolicy {
  return productPolicies(sim).task;
}

/** The boost policy the simulation's API quotes and places boost orders with (domain/boost/policy.ts). */
export function simBoostPolicy(sim: SimPolicy = SIM_POLICY): BoostPolicy {
  return productPolicies(sim).boost;
}


/**
 * The product policies the simulation's API places orders with (SPEC §1 policy snapshot): the
 * durations of the simulation's policy, every rate as in production. Only the simulation's own API
 * process (sim/processes/api.ts) uses them; production always places with the defaults.
 *
 * What cannot be scaled stays as it is: the B4 validity is in calendar months and the B7 refund
 * delay in business days, so in a run a boost refund is posted only when released (F5).
 */
export function productPolicies(sim: SimPolicy): { task: TaskPolicy; boost: BoostPolicy } {
  for (const [name, value] of Object.entries(sim)) {
    if (value !== undefined && (!Number.isSafeInteger(value) || (value as number) <= 0)) throw new RangeError(`sim policy: ${name} must be a positive integer of ms, got ${String(value)}`);
  }
  const task: TaskPolicy = {
    ...DEFAULT_TASK_POLICY,
    acceptanceTimeoutMs: sim.acceptanceMs,
    reminderIntervalMs: sim.remindIntervalMs,
    balanceTimeoutMs: sim.balanceMs,
    reviewTimeoutMs: sim.reviewMs,
    cancellationAnswerTimeoutMs: sim.cancellationAnswerMs,
  };
  const boost = assertValidBoostPolicy({ ...DEFAULT_BOOST_POLICY, ...(sim.boostPeriodMs === undefined ? {} : { boostDurationMs: sim.boostPeriodMs }) });
  return { task, boost };
}

/** The longest duration of the policy: how far ahead a deadline set during the run can lie. */
export function longestDurationMs(sim: SimPolicy): number {
  return Math.max(sim.acceptanceMs, sim.balanceMs, sim.reviewMs, sim.cancellationAnswerMs, sim.remindIntervalMs, sim.boostPeriodMs ?? 0);
}

/**
 * The simulation's webhook delivery knobs (SPEC E5, §10 "Proof"), given to every worker process's
 * delivery loop (sim/processes/worker.ts, env SIM_WEBHOOK_DELIVERY): the production loop
 * (worker/webhook-delivery.ts) with its durations shrunk as the order policies are, so that the
 * receiver's failures (sim/webhook-receiver.ts) are retried several times within a run.
 *
 * - timeoutMs 2 s (E5: 10 s): the receiver's stalls last 3 s, so each one is a timeout;
 * - backoff 250 ms doubling to 2 s (E5: 5 s to 6 h): a failing event is retried within seconds;
 * - leaseMs 6 s (default: timeout + 20 s): a worker killed mid-delivery delays its sends by ≤ 6 s;
 * - pollIntervalMs 500 ms (production 1 s): events go out while the lifecycles still run, and an idle
 *   loop costs two rounds a second per worker (the machine runs the whole stack).
 * The retry window stays 3 days: no delivery may give up and the endpoint may not be disabled.
 */
export interface SimWebhookDelivery {
  readonly timeoutMs: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly leaseMs: number;
  readonly pollIntervalMs: number;
}

export const SIM_WEBHOOK_DELIVERY: SimWebhookDelivery = { timeoutMs: 2_000, backoffBaseMs: 250, backoffMaxMs: 2_000, leaseMs: 6_000, pollIntervalMs: 500 };

/** The knobs as the worker process reads them (positive integers of ms, the lease longer than the timeout). */
export function parseWebhookDelivery(json: string): SimWebhookDelivery {
  const value = JSON.parse(json) as Record<string, unknown>;
  const knobs = {} as Record<keyof SimWebhookDelivery, number>;
  for (const name of Object.keys(SIM_WEBHOOK_DELIVERY) as Array<keyof SimWebhookDelivery>) {
    const n = value[name];
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0) throw new RangeError(`sim webhook delivery: ${name} must be a positive integer of ms, got ${String(n)}`);
    knobs[name] = n;
  }
  if (knobs.leaseMs <= knobs.timeoutMs) throw new RangeError('sim webhook delivery: leaseMs must be longer than timeoutMs (a live send never loses its lease)');
  return knobs;
}
