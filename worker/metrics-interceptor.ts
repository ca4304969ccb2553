import type { Context } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { activityFailuresTotal, activityRetriesTotal } from '../platform/metrics';

/**
 * SPEC §10 "activity retries": every activity execution that is a retry (attempt 2 or later) and
 * every attempt that fails, by activity type, into this process's registry (platform/metrics.ts).
 * Temporal's own `temporal_activity_execution_failed` says the same per worker; this one is in the
 * application's registry, next to the figures it explains, and survives a switch of SDK exporter.
 */
export const activityMetricsInterceptor: ActivityInterceptorsFactory = (ctx: Context) => ({
  inbound: {
    async execute(input, next) {
      const { activityType: activity, attempt } = ctx.info;
      if (attempt > 1) activityRetriesTotal.inc({ activity });
      try {
        return await next(input);
      } catch (error) {
        activityFailuresTotal.inc({ activity });
        throw error;
      }
    },
  },
});
