import { Runtime, type RuntimeOptions } from '@temporalio/worker';

/**
 * Installs the Temporal SDK runtime (before any NativeConnection) with its Prometheus exporter on
 * `bindAddress` (SPEC §10: the worker's Temporal SDK metrics). If that address is taken (e.g. a
 * second `npm start` or worker on the same host, TEMPORAL_METRICS_ADDRESS unchanged), the process
 * still starts, without the SDK's metrics — `xingtu_sdk_metrics_up` then says 0 — and says why:
 * a metrics port must never keep the orders from running.
 */
export function installRuntimeWithMetrics(options: RuntimeOptions, bindAddress: string, warn: (message: string) => void): boolean {
  const telemetryOptions = options.telemetryOptions ?? {};
  try {
    Runtime.install({ ...options, telemetryOptions: { ...telemetryOptions, metrics: { prometheus: { bindAddress } } } });
    return true;
  } catch (error) {
    warn(`the Temporal SDK's Prometheus exporter could not listen on ${bindAddress} (${error instanceof Error ? error.message : String(error)}); running without the SDK's metrics (set TEMPORAL_METRICS_ADDRESS)`);
    Runtime.install(options);
    return false;
  }
}
