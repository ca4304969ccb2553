import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { SEARCH_ATTRIBUTES } from '../platform/search-attribute-keys';
import { pendingBoostDeadlines, type BoostOrderState } from '../domain/boost';
import { nextDeadline, type TaskOrderState } from '../domain/task-order';

export function taskOrderSearchAttributes(state: TaskOrderState): SearchAttributeUpdatePair[] {
  const deadline = nextDeadline(state);
  return [
    { key: SEARCH_ATTRIBUTES.orderKind, value: 'task' },
    { key: SEARCH_ATTRIBUTES.orderStatus, value: state.status },
    { key: SEARCH_ATTRIBUTES.clientId, value: state.placement.clientId },
    { key: SEARCH_ATTRIBUTES.creatorId, value: state.placement.creatorId },
    { key: SEARCH_ATTRIBUTES.nextDeadlineAt, value: deadline ? new Date(deadline.atMs) : null },
  ];
}

export function boostOrderSearchAttributes(state: BoostOrderState): SearchAttributeUpdatePair[] {
  const deadline = pendingBoostDeadlines(state)[0];
  return [
    { key: SEARCH_ATTRIBUTES.orderKind, value: 'boost' },
    { key: SEARCH_ATTRIBUTES.orderStatus, value: state.status },
    { key: SEARCH_ATTRIBUTES.clientId, value: state.terms.clientId },
    { key: SEARCH_ATTRIBUTES.creatorId, value: state.terms.creatorId },
    { key: SEARCH_ATTRIBUTES.nextDeadlineAt, value: deadline ? new Date(deadline.atMs) : null },
  ];
}
