/** The engine baseline's activity (bench/baseline-workflow.ts): does nothing, as fast as possible. */
export const baselineActivities = {
  noop(step: number): Promise<number> {
    return Promise.resolve(step);
  },
};

export type BaselineActivities = typeof baselineActivities;
