import { defineUpdate } from '@temporalio/workflow';

/**
 * The messages of the bench's two limits (bench/baseline-workflow.ts), shared with their drivers:
 * the engine baseline (a no-op per command) and the same-job baseline (the order's job with
 * nothing of the product's: one row, a timer, search attributes per command).
 */

export const BASELINE_WORKFLOW = 'baselineOrderWorkflow';
export const SAME_JOB_WORKFLOW = 'sameJobOrderWorkflow';

export interface BaselineInput {
  /** How many Updates the order takes (the first one stands for the placement). */
  readonly steps: number;
  /** true: each step's no-op activity is a local activity; false: a regular one. */
  readonly local: boolean;
  /** true: no activity at all, the Update answered from its handler (the floor of any command). */
  readonly bare?: boolean;
}

/** The same-job baseline's order: its id (the rows' key), its parties (search attributes), its steps. */
export interface SameJobInput {
  readonly orderId: string;
  readonly clientId: string;
  readonly creatorId: string;
  readonly steps: number;
}

export interface BaselineView {
  readonly step: number;
  readonly status: string;
}

/** One step of the order: its number (1 … steps) in, the view after it out. */
export const baselineStepUpdate = defineUpdate<BaselineView, [{ readonly step: number }]>('step');

/** The same-job baseline's table: one row per command (bench/orders-stack.ts creates it). */
export const SAME_JOB_TABLE = 'bench_same_job_rows';

/** The relay's routes (bench/same-job-relay.ts): POST /place/<workflowId> with SameJobInput, POST /step/<workflowId> with { step }. */
export const RELAY_PLACE = '/place/';
export const RELAY_STEP = '/step/';
