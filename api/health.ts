import type { Client } from '@temporalio/client';
import { isGrpcServiceError } from '@temporalio/client';
import { sql } from 'kysely';
import type { z } from 'zod';
import type { Db } from '../db/connect';
import { unavailableDependency } from '../platform/faults';
import type { DependencyHealth, Health } from './responses';

/**
 * SPEC §10 `GET /health`: each dependency checked by one cheap call, all at once, each given up
 * after HEALTH_CHECK_TIMEOUT_MS, so the health check itself never hangs while a dependency does
 * (an orchestrator polling it must get an answer).
 */
export const HEALTH_CHECK_TIMEOUT_MS = 2000;

export type HealthReport = z.output<typeof Health>;
type DependencyReport = z.output<typeof DependencyHealth>;

const GRPC_UNIMPLEMENTED = 12;

export async function checkHealth(db: Db, client: Client, log: (dependency: string, error: unknown) => void, timeoutMs = HEALTH_CHECK_TIMEOUT_MS): Promise<HealthReport> {
  const [postgres, temporal] = await Promise.all([
    probe(() => sql`select 1`.execute(db), timeoutMs, (error) => log('postgres', error)),
    probe(() => temporalAnswers(client, timeoutMs), timeoutMs, (error) => log('temporal', error)),
  ]);
  return { status: postgres.status === 'up' && temporal.status === 'up' ? 'ok' : 'unavailable', dependencies: { postgres, temporal } };
}

/** The frontend answers getSystemInfo without touching persistence; a server without it (the sandbox's test server) answered too. */
async function temporalAnswers(client: Client, timeoutMs: number): Promise<void> {
  try {
    await client.connection.withDeadline(Date.now() + timeoutMs, () => client.workflowService.getSystemInfo({}));
  } catch (error) {
    if (!(isGrpcServiceError(error) && error.code === GRPC_UNIMPLEMENTED)) throw error;
  }
}

class CheckTimeout extends Error {}

async function probe(check: () => Promise<unknown>, timeoutMs: number, log: (error: unknown) => void): Promise<DependencyReport> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new CheckTimeout(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([check(), timeout]);
    return { status: 'up', latencyMs: Date.now() - started };
  } catch (error) {
    log(error);
    const reason = error instanceof CheckTimeout ? 'timeout' : unavailableDependency(error) ? 'unreachable' : 'error';
    return { status: 'down', latencyMs: Date.now() - started, reason };
  } finally {
    clearTimeout(timer);
  }
}
