import { defineUpdate } from '@temporalio/workflow';

/** The messages of the engine baseline (bench/baseline-workflow.ts), shared with its driver. */

export const BASELINE_WORKFLOW = 'baselineOrderWorkflow';

export interface BaselineInput {
  /** How many Updates the order takes (the first one stands for the placement). */
  readonly steps: number;
  /** true: each step's no-op activity is a local activity; false: a regular one. */
  readonly local: boolean;
}

export interface BaselineView {
  readonly step: number;
  readonly status: string;
}

/** One step of the order: its number (1 … steps) in, the view after it out. */
export const baselineStepUpdate = defineUpdate<BaselineView, [{ readonly step: number }]>('step');
