import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ApiError } from '../api/errors';
import { createTaskOrderService } from '../api/task-order-service';
import { loadTaskEvents } from '../db/events';
import { accountBalance } from '../db/ledger';
import { DEFAULT_TASK_POLICY } from '../domain/task-order';
import { SEARCH_ATTRIBUTES } from '../platform/search-attribute-keys';
import {
  TASK_ORDER_WORKFLOW,
  acceptUpdate,
  placementUpdate,
  stateQuery,
  taskOrderWorkflowId,
  type TaskOrderInput,
  type TaskOrderResult,
} from '../workflows/task-order-api';
import { writeCounts, type TestDatabase } from './support/db';
import { placement } from './support/fixtures';
import { taskOrderPlacer, withTimeSkippingWorker } from './support/temporal';

const HOUR = 3_600_000;
const taskQueue = 'task-order-workflow-test';

let env: TestWorkflowEnvironment;
let database: TestDatabase;
withTimeSkippingWorker(taskQueue, (world) => ({ env, database } = world));

const place = taskOrderPlacer(() => env, taskQueue);

async function ledgerOf(orderId: string) {
  return database.db
    .selectFrom('ledger_transfers')
    .innerJoin('ledger_transactions', 'ledger_transactions.tx_id', 'ledger_transfers.tx_id')
    .select(['ledger_transactions.kind', 'debit_account', 'credit_account', 'amount_fen'])
    .where('ledger_transactions.order_id', '=', orderId)
    .orderBy('ledger_transactions.seq')
    .execute();
}

describe('task-order workflow on the time-skipping server', () => {
  test('T6: no acceptance → cancelled 24 h after placement, the client refunded exactly once', async () => {
    const p = placement();
    {
      const handle = await place(p);
      const result: TaskOrderResult = await handle.result(); // time skips to the deadline
      expect(result.placed && result.final.status).toBe('cancelled');
      expect(result.placed && result.final.cancelReason).toBe('not_accepted_in_time');

      const events = await loadTaskEvents(database.db, p.orderId);
      expect(events.map((e) => e.event.type)).toEqual(['TaskOrderPlaced', 'TaskOrderCancelled']);
      const waitedMs = events[1]!.occurredAt - events[0]!.occurredAt;
      expect(waitedMs).toBeGreaterThanOrEqual(24 * HOUR);
      expect(waitedMs).toBeLessThan(24 * HOUR + 60_000);

      expect(await ledgerOf(p.orderId)).toEqual([
        { kind: 'placement_payment', debit_account: 'external:payments', credit_account: `escrow:task:${p.orderId}`, amount_fen: 110_000n },
        { kind: 'cancellation_settlement', debit_account: `escrow:task:${p.orderId}`, credit_account: 'client:client-1', amount_fen: 110_000n },
      ]);
      expect(await accountBalance(database.db, `escrow:task:${p.orderId}`)).toBe(0n);

      if (process.env.RECORD_HISTORIES === '1') {
        const history = await handle.fetchHistory();
        writeFileSync(join(__dirname, 'histories', 'task-order-not-accepted.json'), historyToJSON(history));
      }
    }
  });

  test('O3: the workflow carries its search attributes (kind, status, client, creator, next deadline)', async () => {
    const p = placement();
    const handle = await place(p);
    const attributes = (await handle.describe()).typedSearchAttributes;
    expect(attributes.get(SEARCH_ATTRIBUTES.orderKind)).toBe('task');
    expect(attributes.get(SEARCH_ATTRIBUTES.orderStatus)).toBe('awaiting_acceptance');
    expect(attributes.get(SEARCH_ATTRIBUTES.clientId)).toBe(p.clientId);
    expect(attributes.get(SEARCH_ATTRIBUTES.creatorId)).toBe(p.creatorId);
    const row = await database.db.selectFrom('task_orders').select('next_deadline_at').where('order_id', '=', p.orderId).executeTakeFirstOrThrow();
    expect(attributes.get(SEARCH_ATTRIBUTES.nextDeadlineAt)?.getTime()).toBe(row.next_deadline_at?.getTime());
    await handle.executeUpdate(acceptUpdate, { args: [{ actor: { type: 'creator', id: p.creatorId } }] });
    expect((await handle.describe()).typedSearchAttributes.get(SEARCH_ATTRIBUTES.orderStatus)).toBe('in_production');
    await handle.terminate('test done');
  });

  test('T6: accepted at 23 h 59 min → not cancelled', async () => {
    const p = placement();
    {
      const handle = await place(p);
      await env.sleep(23 * HOUR + 59 * 60_000);
      const view = await handle.executeUpdate(acceptUpdate, { args: [{ actor: { type: 'creator', id: p.creatorId } }] });
      expect(view.state.status).toBe('in_production');
      await env.sleep(2 * HOUR);
      const after = await handle.query(stateQuery);
      expect(after?.state.status).toBe('in_production');
      expect((await ledgerOf(p.orderId)).map((t) => t.kind)).toEqual(['placement_payment']);
      if (process.env.RECORD_HISTORIES === '1') {
        writeFileSync(join(__dirname, 'histories', 'task-order-accepted.json'), historyToJSON(await handle.fetchHistory()));
      }
      await handle.terminate('test done');
    }
  });

  test('T6 race: the accept one second before the deadline wins', async () => {
    const p = placement();
    {
      const handle = await place(p);
      await env.sleep(24 * HOUR - 1000);
      const view = await handle.executeUpdate(acceptUpdate, { args: [{ actor: { type: 'creator', id: p.creatorId } }] });
      expect(view.state.status).toBe('in_production');
      await handle.terminate('test done');
    }
  });

  test('T6 race: the accept one second after the deadline → deadline_passed, nothing written', async () => {
    const p = placement();
    const service = createTaskOrderService({ db: database.db, client: env.client, taskQueue });
    {
      const handle = await place(p);
      await env.sleep(24 * HOUR + 1000);
      await handle.result();
      const before = await writeCounts(database.db);
      const refusal = await service.command(p.orderId, 'accept', { actor: { type: 'creator', id: p.creatorId } }).catch((e: unknown) => e);
      expect(refusal).toBeInstanceOf(ApiError);
      expect((refusal as ApiError).code).toBe('deadline_passed');
      expect(await writeCounts(database.db)).toEqual(before);
    }
  });

  test('T5: a placement the client account cannot pay is not placed and leaves nothing behind', async () => {
    const p = placement({ clientId: 'client-broke', funding: { source: 'account' } });
    {
      const before = await writeCounts(database.db);
      const input: TaskOrderInput = { placement: p, policy: DEFAULT_TASK_POLICY };
      const handle = await env.client.workflow.start(TASK_ORDER_WORKFLOW, { workflowId: taskOrderWorkflowId(p.orderId), taskQueue, args: [input] });
      const outcome = await handle.executeUpdate(placementUpdate);
      expect(outcome).toMatchObject({ placed: false, rejection: { code: 'insufficient_funds' } });
      expect(await handle.result()).toMatchObject({ placed: false });
      expect(await writeCounts(database.db)).toEqual(before);
    }
  });
});
