import type { Context } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { activityFailuresTotal, activityRetriesTotal } from '../platform/metrics';
import { RETRY_OF_LOCAL_WRITE } from '../domain/activity-failures';

/**
 * SPEC §10 "activity retries": every activity execution that is a retry (attempt 2 or later, or the
 * regular activity that takes over a local write whose attempts failed) and
 * every attempt that fails, by activity type, into this process's registry (platform/metrics.ts).
 * Temporal's own `temporal_activity_execution_failed` says the same per worker; this one is in the
 * application's registry, next to the figures it explains, and survives a switch of SDK exporter.
 */
export const activityMetricsInterceptor: ActivityInterceptorsFactory = (ctx: Context) => ({
  inbound: {
    async execute(input, next) {
      const { activityType: activity, attempt } = ctx.info;
      // The regular activity run after a local write's attempts failed is a retry of that write.
      const afterLocal = (input.args[0] as Record<string, unknown> | undefined)?.[RETRY_OF_LOCAL_WRITE] === true;
      if (attempt > 1 || afterLocal) activityRetriesTotal.inc({ activity });
      try {
        return await next(input);
      } catch (error) {
        activityFailuresTotal.inc({ activity });
        throw error;
      }
    },
  },
});
