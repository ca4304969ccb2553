/**
 * Issue 19: one definition per order kind. The registries by name (domain/kinds.ts, db/order-kinds.ts)
 * hold each kind's one object under its own name, and the helpers derived from the objects (open
 * statuses, the inverses of the workflow and stream ids) agree with the kinds' own lists and ids.
 */
import { ORDER_KIND_SPECS } from '../db/order-kinds';
import { boostOrderWorkflowId, boostStreamId } from '../domain/boost/ids';
import { BOOST_ORDER_KIND } from '../domain/boost/kind';
import { boostNotificationsFor } from '../domain/boost/notifications';
import { OPEN_BOOST_STATUSES } from '../domain/boost/types';
import { ORDER_KIND_DEFINITIONS, orderOfWorkflowId } from '../domain/kinds';
import { ORDER_KINDS, byKind, openStatusesOf, orderIdOfStreamId } from '../domain/order-kind';
import { taskOrderWorkflowId } from '../domain/task-order/ids';
import { TASK_ORDER_KIND } from '../domain/task-order/kind';
import { notificationsFor } from '../domain/task-order/notifications';
import { OPEN_TASK_STATUSES } from '../domain/task-order/types';

describe('the order kinds by name', () => {
  it.each(ORDER_KINDS)('%s: its definition is under its name, and its storage takes that definition', (kind) => {
    expect(ORDER_KIND_DEFINITIONS[kind].kind).toBe(kind);
    expect(ORDER_KIND_SPECS[kind].definition).toBe(ORDER_KIND_DEFINITIONS[kind]);
  });

  it('byKind makes one value per kind, in ORDER_KINDS order', () => {
    expect(Object.keys(byKind((kind) => kind))).toEqual([...ORDER_KINDS]);
  });

  it('the kind objects carry their notifications (E3)', () => {
    expect(TASK_ORDER_KIND.notificationsFor).toBe(notificationsFor);
    expect(BOOST_ORDER_KIND.notificationsFor).toBe(boostNotificationsFor);
  });
});

describe('helpers derived from a kind object', () => {
  it('open statuses are the statuses not closed, in order', () => {
    expect(openStatusesOf(TASK_ORDER_KIND)).toEqual(OPEN_TASK_STATUSES);
    expect(openStatusesOf(BOOST_ORDER_KIND)).toEqual(OPEN_BOOST_STATUSES);
  });

  it('a workflow id gives back its kind and order id; any other id none', () => {
    expect(orderOfWorkflowId(taskOrderWorkflowId('o-1'))).toEqual({ kind: 'task', orderId: 'o-1' });
    expect(orderOfWorkflowId(boostOrderWorkflowId('b-1'))).toEqual({ kind: 'boost', orderId: 'b-1' });
    expect(orderOfWorkflowId('something-else:1')).toBeUndefined();
  });

  it('a stream id gives back its order id (a boost stream is boost:{id}, a task stream the id itself)', () => {
    expect(orderIdOfStreamId(BOOST_ORDER_KIND, boostStreamId('b-1'))).toBe('b-1');
    expect(orderIdOfStreamId(TASK_ORDER_KIND, TASK_ORDER_KIND.streamId('o-1'))).toBe('o-1');
    expect(orderIdOfStreamId(BOOST_ORDER_KIND, 'o-1')).toBe('o-1');
  });
});
