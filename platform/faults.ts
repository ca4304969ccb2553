import { WorkflowUpdateRPCTimeoutOrCancelledError, isGrpcServiceError } from '@temporalio/client';

/**
 * SPEC §8/§10: the one place that decides whether an error means "a dependency cannot be reached
 * right now" (the API answers `503 unavailable` with Retry-After, never 500; the worker waits and
 * retries) rather than a bug or a refusal. It looks through wrappers (`cause`, AggregateError): the Temporal client wraps the gRPC
 * error that matters in its ServiceError, Node wraps one socket error per address it tried.
 */
export type Dependency = 'postgres' | 'temporal';

/**
 * gRPC codes meaning Temporal is not answering (14 UNAVAILABLE, 4 DEADLINE_EXCEEDED) or is
 * shedding load (8 RESOURCE_EXHAUSTED, e.g. too many Updates in flight on one workflow): all
 * transient, all worth a retry.
 */
const GRPC_UNAVAILABLE = new Set([14, 4, 8]);

/** Socket-level codes: the server is down or restarting, or the network to it is. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * PostgreSQL SQLSTATEs of a server going away or not taking connections: 57P01 admin_shutdown
 * (also sent by an immediate shutdown), 57P02 crash_shutdown, 57P03 cannot_connect_now (starting
 * up, in recovery), 57P05 idle_session_timeout, 53300 too_many_connections; and all of class 08,
 * connection_exception. Also 40001 serialization_failure and 40P01 deadlock_detected: the
 * transaction was rolled back whole (nothing written), and the same request succeeds when retried,
 * so the caller gets 503 with Retry-After rather than a 500.
 */
const PG_UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '57P05', '53300', '40001', '40P01']);
const PG_CONNECTION_EXCEPTION = /^08[0-9A-Z]{3}$/;

/** pg's own errors for a connection lost or never made (they carry no code). */
const PG_CONNECTION_MESSAGES = [
  /^Connection terminated/, // "… unexpectedly", "… due to connection timeout"
  /^timeout exceeded when trying to connect/, // pg-pool: no connection within connectionTimeoutMillis
  /^Client has encountered a connection error and is not queryable/,
];

/** Which dependency `error` says is unreachable, or undefined when it is not such a fault. */
export function unavailableDependency(error: unknown): Dependency | undefined {
  const chain = causeChain(error);
  if (chain.some(isTemporalUnavailable)) return 'temporal';
  if (chain.some(isPostgresUnavailable)) return 'postgres';
  return undefined;
}

/**
 * 9 FAILED_PRECONDITION is a refusal in general, but not when Temporal refuses an Update because the
 * workflow's last task failed (a worker killed mid-task, a persistence timeout on a loaded server):
 * the next task attempt clears it, so the same request succeeds when retried (found by the
 * simulation under load: a placement's Update-with-Start answered 500).
 */
const GRPC_FAILED_PRECONDITION = 9;
const WORKFLOW_TASK_FAILED = /Workflow Task in failed state/i;

function isTemporalUnavailable(error: object): boolean {
  if (isGrpcServiceError(error)) {
    if (error.code === GRPC_FAILED_PRECONDITION) return WORKFLOW_TASK_FAILED.test(`${error.message} ${error.details}`);
    return GRPC_UNAVAILABLE.has(error.code);
  }
  // The worker's native connection (Rust core) reports a server it cannot reach this way.
  if ((error as { name?: unknown }).name === 'TransportError') return true;
  // An Update's call that ran out of time or was cut off: Temporal did not answer in time.
  return error instanceof WorkflowUpdateRPCTimeoutOrCancelledError;
}

function isPostgresUnavailable(error: object): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || PG_UNAVAILABLE_STATES.has(code) || PG_CONNECTION_EXCEPTION.test(code))) return true;
  return typeof message === 'string' && PG_CONNECTION_MESSAGES.some((pattern) => pattern.test(message));
}

/** `error` and every error it wraps (its `cause`, an AggregateError's `errors`), at most 16. */
function causeChain(error: unknown): object[] {
  const chain: object[] = [];
  const pending: unknown[] = [error];
  while (pending.length > 0 && chain.length < 16) {
    const current = pending.shift();
    if (current === null || typeof current !== 'object' || chain.includes(current)) continue;
    chain.push(current);
    if ('cause' in current) pending.push(current.cause);
    if (current instanceof AggregateError) pending.push(...(current.errors as unknown[]));
  }
  return chain;
}
