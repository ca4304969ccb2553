import { BOOST_LEDGER_TX_PREFIX, BOOST_ORDER_WORKFLOW_ID_PREFIX, boostLedgerTxId, boostOrderIdOfWorkflowId, boostOrderWorkflowId, boostStreamId } from './boost/ids';
import { TASK_LEDGER_TX_PREFIX, TASK_ORDER_WORKFLOW_ID_PREFIX, taskLedgerTxId, taskOrderIdOfWorkflowId, taskOrderWorkflowId } from './task-order/ids';

/**
 * Issue 19: the ids are stored (workflow ids in Temporal, ledger transaction ids and stream ids in
 * PostgreSQL) and are idempotency keys (L3): whatever builds them, the strings must stay
 * byte-identical to those already written. Pinned here as literals.
 */
describe('order ids are byte-identical to the stored ones', () => {
  test('task orders: workflow id, its inverse, ledger transaction ids', () => {
    expect(TASK_ORDER_WORKFLOW_ID_PREFIX).toBe('task-order:');
    expect(TASK_LEDGER_TX_PREFIX).toBe('task:');
    expect(taskOrderWorkflowId('o-1')).toBe('task-order:o-1');
    expect(taskOrderWorkflowId('订单_7')).toBe('task-order:订单_7');
    expect(taskOrderIdOfWorkflowId('task-order:o-1')).toBe('o-1');
    expect(taskOrderIdOfWorkflowId('boost-order:o-1')).toBeUndefined();
    expect(taskOrderIdOfWorkflowId('o-1')).toBeUndefined();
    expect(taskLedgerTxId('order-1', 1, 'placement_payment')).toBe('task:order-1:v1:placement_payment');
    expect(taskLedgerTxId('order-1', 6, 'completion_settlement')).toBe('task:order-1:v6:completion_settlement');
    expect(taskLedgerTxId('o-1', 12, 'cancellation_settlement')).toBe('task:o-1:v12:cancellation_settlement');
  });

  test('boost orders: workflow id, its inverse, stream id, ledger transaction ids', () => {
    expect(BOOST_ORDER_WORKFLOW_ID_PREFIX).toBe('boost-order:');
    expect(BOOST_LEDGER_TX_PREFIX).toBe('boost:');
    expect(boostOrderWorkflowId('b-1')).toBe('boost-order:b-1');
    expect(boostOrderIdOfWorkflowId('boost-order:b-1')).toBe('b-1');
    expect(boostOrderIdOfWorkflowId('task-order:b-1')).toBeUndefined();
    expect(boostStreamId('b-1')).toBe('boost:b-1');
    expect(boostLedgerTxId('b-1', 1, 'boost_payment')).toBe('boost:b-1:v1:boost_payment');
    expect(boostLedgerTxId('b-1', 4, 'boost_refund')).toBe('boost:b-1:v4:boost_refund');
  });
});
