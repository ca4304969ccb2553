import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/** int8 columns are read as bigint (see connect.ts); timestamps as Date. */
type Timestamp = ColumnType<Date, Date | string, never>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

export interface OrderEventsTable {
  id: Generated<bigint>;
  order_id: string;
  order_kind: 'task' | 'boost';
  version: number;
  type: string;
  payload: unknown;
  occurred_at: Timestamp;
  causation: string | null;
  recorded_at: CreatedAt;
}

export interface LedgerTransactionsTable {
  tx_id: string;
  seq: Generated<bigint>;
  kind: string;
  order_id: string | null;
  external_payment_ref: string | null;
  occurred_at: Timestamp;
  content_hash: string;
  /** L4: the hash chain this transaction extends (db/ledger.ts ledgerChainFor). */
  chain_id: number;
  /** Set by the database (trigger ledger_transactions_chain), never by the application. */
  chain_seq: ColumnType<bigint, never, never>;
  prev_hash: ColumnType<string, never, never>;
  chain_hash: ColumnType<string, never, never>;
  recorded_at: CreatedAt;
}

export interface LedgerTransfersTable {
  tx_id: string;
  /** The transaction's seq (foreign key with tx_id): statements are ordered by it. */
  tx_seq: bigint;
  transfer_index: number;
  debit_account: string;
  credit_account: string;
  amount_fen: bigint;
}

export interface ClientBalancesTable {
  account: string;
  balance_fen: bigint;
}

/** L4: the head of each hash chain; advanced by the database only. */
export interface LedgerChainHeadsTable {
  chain_id: number;
  seq: bigint;
  hash: string;
}

export interface TaskOrdersTable {
  order_id: string;
  client_id: string;
  creator_id: string;
  task_type: string;
  title: string;
  industry: string;
  expected_publish_at: Timestamp;
  payment_mode: string;
  price_fen: bigint;
  service_fee_fen: bigint;
  paid_in_fen: bigint;
  status: string;
  cancel_reason: string | null;
  next_deadline_kind: string | null;
  next_deadline_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  version: number;
  placement_hash: string;
  placed_at: Timestamp;
  updated_at: ColumnType<Date, Date | string, Date | string>;
  details: unknown;
}

export interface NotificationsTable {
  id: Generated<bigint>;
  order_id: string;
  event_version: number;
  seq: number;
  recipient_type: string;
  recipient_id: string;
  kind: string;
  data: unknown;
  created_at: CreatedAt;
  delivered_at: ColumnType<Date | null, never, Date | string>;
}

export interface Database {
  order_events: OrderEventsTable;
  ledger_transactions: LedgerTransactionsTable;
  ledger_transfers: LedgerTransfersTable;
  client_balances: ClientBalancesTable;
  ledger_chain_heads: LedgerChainHeadsTable;
  task_orders: TaskOrdersTable;
  notifications: NotificationsTable;
}

export type OrderEventRow = Selectable<OrderEventsTable>;
export type NewOrderEvent = Insertable<OrderEventsTable>;
export type TaskOrderRow = Selectable<TaskOrdersTable>;
export type NewTaskOrderRow = Insertable<TaskOrdersTable>;
export type LedgerTransactionRow = Selectable<LedgerTransactionsTable>;
export type LedgerTransferRow = Selectable<LedgerTransfersTable>;
