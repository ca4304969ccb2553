import type { Pool } from 'pg';
import { SAME_JOB_TABLE } from './baseline-api';

/** The engine baseline's activity (bench/baseline-workflow.ts): does nothing, as fast as possible. */
export const baselineActivities = {
  noop(step: number): Promise<number> {
    return Promise.resolve(step);
  },
};

export type BaselineActivities = typeof baselineActivities;

/**
 * The same-job baseline's activity: inserts one row into PostgreSQL — one statement, autocommit,
 * idempotent on (order, step) as a retried write must be — and nothing else.
 */
export function sameJobActivities(pool: Pool) {
  return {
    async insertRow(row: { readonly orderId: string; readonly step: number; readonly command: unknown }): Promise<void> {
      await pool.query(`insert into ${SAME_JOB_TABLE} (order_id, step, command) values ($1, $2, $3) on conflict do nothing`, [row.orderId, row.step, JSON.stringify(row.command)]);
    },
  };
}

export type SameJobActivities = ReturnType<typeof sameJobActivities>;

/** The table, created by the bench's stack in its own database (not a product migration). */
export const SAME_JOB_DDL = `create table if not exists ${SAME_JOB_TABLE} (
  order_id text not null,
  step integer not null,
  command jsonb not null,
  recorded_at timestamptz not null default now(),
  primary key (order_id, step)
)`;
