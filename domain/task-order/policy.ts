/**
 * The task-order policy (SPEC §1 "policy snapshot"): every duration and rate of §2. The policy in
 * force is copied into the order when it is placed, so a configuration change never alters a
 * running order nor the determinism of its workflow.
 */
export interface TaskPolicy {
  readonly serviceFeeBp: bigint; // T2
  readonly acceptanceTimeoutMs: number; // T6
  readonly reminderIntervalMs: number; // T8
  readonly priceChangeMinBp: bigint; // T9 lower bound, ceil
  readonly priceChangeMaxBp: bigint; // T9 upper bound, floor
  readonly balanceTimeoutMs: number; // T12
  readonly reviewTimeoutMs: number; // T17
  readonly cancellationCompensationBp: bigint; // T20
  readonly cancellationAnswerTimeoutMs: number; // T22
}

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

export const DEFAULT_TASK_POLICY: TaskPolicy = {
  serviceFeeBp: 1000n,
  acceptanceTimeoutMs: 24 * HOUR_MS,
  reminderIntervalMs: HOUR_MS,
  priceChangeMinBp: 8000n,
  priceChangeMaxBp: 12000n,
  balanceTimeoutMs: 7 * DAY_MS,
  reviewTimeoutMs: 7 * DAY_MS,
  cancellationCompensationBp: 5000n,
  cancellationAnswerTimeoutMs: 72 * HOUR_MS,
};
