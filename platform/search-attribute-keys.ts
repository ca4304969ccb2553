import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';

/**
 * O3: the orders' search-attribute keys, set by the workflows (workflows/search-attributes.ts) and
 * registered with the Temporal server (platform/search-attributes.ts). Only @temporalio/common: the
 * workflow bundle imports this file.
 */
// What ops can search orders by, in Temporal's UI or `temporal workflow list --query`.
export const SEARCH_ATTRIBUTES = {
  orderKind: defineSearchAttributeKey('OrderKind', SearchAttributeType.KEYWORD),
  orderStatus: defineSearchAttributeKey('OrderStatus', SearchAttributeType.KEYWORD),
  clientId: defineSearchAttributeKey('ClientId', SearchAttributeType.KEYWORD),
  creatorId: defineSearchAttributeKey('CreatorId', SearchAttributeType.KEYWORD),
  nextDeadlineAt: defineSearchAttributeKey('NextDeadlineAt', SearchAttributeType.DATETIME),
} as const;
