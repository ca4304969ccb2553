import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from './search-attribute-keys';

const INDEXED_TYPE = {
  KEYWORD: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  DATETIME: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
} as const;

/**
 * O3: registers the orders' search attributes with the Temporal server (dev server, time-skipping
 * server, or an external cluster); attributes that already exist are left as they are.
 */
export async function registerSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const searchAttributes = Object.fromEntries(
    Object.values(SEARCH_ATTRIBUTES).map((key) => [key.name, INDEXED_TYPE[key.type as keyof typeof INDEXED_TYPE]]),
  );
  try {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
  } catch (error) {
    if (!/already exists/i.test(String(error)) && !/already exists/i.test(String((error as { cause?: unknown }).cause))) throw error;
  }
}
