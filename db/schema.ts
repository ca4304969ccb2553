import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';
import type { AttemptOutcome } from '../platform/webhook-outcomes';

/** int8 columns are read as bigint (see connect.ts); timestamps as Date. */
type Timestamp = ColumnType<Date, Date | string, never>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

export interface OrderEventsTable {
  id: Generated<bigint>;
  order_id: string;
  order_kind: 'task' | 'boost' | 'checkout';
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
  /** E4 (migration 0008): the writing transaction's xid8 (decimal text), set by the database; the feed orders by (writer_xid, id). */
  writer_xid: ColumnType<string, never, never>;
}

/** E5 (migration 0008): a registered webhook endpoint; feed_xid/feed_id is the feed position fanned out up to. */
export interface WebhookEndpointsTable {
  endpoint_id: string;
  url: string;
  description: string | null;
  /** null: every event type. */
  event_types: string[] | null;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  status: 'active' | 'disabled' | 'deleted';
  feed_xid: ColumnType<string, string, string>;
  feed_id: ColumnType<bigint, bigint | undefined, bigint>;
  failing_since: Date | null;
  disabled_at: Date | null;
  deleted_at: Date | null;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** E5: one event to one endpoint; `status` + `last_outcome` are the delivery outcome (metrics may count them). */
export interface WebhookDeliveriesTable {
  endpoint_id: string;
  notification_id: bigint;
  order_id: string;
  writer_xid: ColumnType<string, string, never>;
  status: 'pending' | 'delivered' | 'failed';
  attempt_count: ColumnType<number, number | undefined, number>;
  next_attempt_at: ColumnType<Date, Date | string | undefined, Date | string>;
  retry_window_started_at: Date | null;
  lease_until: Date | null;
  lease_token: string | null;
  last_outcome: string | null;
  last_status_code: number | null;
  delivered_at: Date | null;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** E5: every delivery attempt (append-only for the application). */
export interface WebhookAttemptsTable {
  attempt_id: Generated<bigint>;
  endpoint_id: string;
  notification_id: bigint;
  attempt_no: number;
  attempted_at: ColumnType<Date, Date | string, never>;
  outcome: AttemptOutcome;
  status_code: number | null;
  latency_ms: number;
  response_snippet: string | null;
  error: string | null;
}

/** SPEC §8 Idempotency-Key: one row per (role, key); status_code NULL while the first request runs. */
export interface IdempotencyKeysTable {
  role: string;
  key: string;
  request_hash: string;
  status_code: number | null;
  content_type: string | null;
  response_body: string | null;
  created_at: CreatedAt;
  completed_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

/** F6/issue 18: console sessions signed out before they expired (db/migrations/0010). */
export interface ConsoleSessionRevocationsTable {
  session_id: string;
  revoked_at: CreatedAt;
  expires_at: ColumnType<Date, Date | string, Date | string>;
}

/** L3 (issue 21): order workflows the API will tell to look in their stream (db/stream-syncs.ts). */
export interface StreamSyncsTable {
  workflow_id: string;
  requested_at: CreatedAt;
  due_at: ColumnType<Date, Date | string, Date | string>;
  attempts: ColumnType<number, number | undefined, number>;
  last_error: string | null;
}

/** B8: the latest view count per video; never decreases (a trigger refuses a lower one). */
export interface VideoStatsTable {
  video_id: string;
  creator_id: string;
  published_at: Timestamp;
  views: bigint;
  observed_at: ColumnType<Date, Date | string, Date | string>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** B1/B2: a stored quote (result = the quote with its explanation, stored JSON). */
export interface BoostQuotesTable {
  quote_id: string;
  client_id: string | null;
  creator_id: string;
  price_fen: bigint;
  available: boolean;
  quoted_at: Timestamp;
  valid_until: Timestamp;
  result: unknown;
  created_at: CreatedAt;
}

/** B2: creators who opted out of boosts (maintained by ops). */
export interface CreatorBoostOptOutsTable {
  creator_id: string;
  opted_out_at: CreatedAt;
  note: string | null;
}

/** B7: a year whose official calendar is loaded (ops can add one). */
export interface BusinessCalendarYearsTable {
  year: number;
  source: string | null;
  loaded_at: CreatedAt;
}

/** B7: a holiday or a 调休 working day (read `date` as text: to_char(date, 'YYYY-MM-DD')). */
export interface BusinessCalendarDaysTable {
  date: ColumnType<string, string, string>;
  kind: 'holiday' | 'workday';
  year: number;
}

/** The boost-order read model (E2): a pure function of the folded boost state (db/boost-orders.ts). */
export interface BoostOrdersTable {
  boost_order_id: string;
  task_order_id: string;
  client_id: string;
  creator_id: string;
  quote_id: string;
  video_id: string | null;
  status: string;
  end_reason: string | null;
  price_fen: bigint;
  boost_fee_fen: bigint;
  expected_views: bigint;
  escrow_fen: bigint;
  refund_fen: bigint | null;
  refund_due_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  refund_posted_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  calendar_missing: boolean;
  next_deadline_kind: string | null;
  next_deadline_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  request_hash: string;
  version: number;
  ordered_at: Timestamp;
  updated_at: ColumnType<Date, Date | string, Date | string>;
  details: unknown;
}

/** C1–C5: a checkout's read model (migration 0012). */
export interface CheckoutsTable {
  checkout_id: string;
  client_id: string;
  status: string;
  payment_mode: string;
  total_fen: bigint;
  escrow_fen: bigint;
  line_count: number;
  failed_line_index: number | null;
  failure_code: string | null;
  request_hash: string;
  version: number;
  created_at: Timestamp;
  updated_at: ColumnType<Date, Date | string, Date | string>;
  details: unknown;
}

/** C3/C4: which task and boost order ids are taken, and by which checkout (null: a single placement). */
export interface OrderIdClaimsTable {
  id_kind: 'task' | 'boost';
  id: string;
  checkout_id: string | null;
  claimed_at: CreatedAt;
}

export interface Database {
  order_events: OrderEventsTable;
  ledger_transactions: LedgerTransactionsTable;
  ledger_transfers: LedgerTransfersTable;
  client_balances: ClientBalancesTable;
  ledger_chain_heads: LedgerChainHeadsTable;
  task_orders: TaskOrdersTable;
  notifications: NotificationsTable;
  idempotency_keys: IdempotencyKeysTable;
  console_session_revocations: ConsoleSessionRevocationsTable;
  stream_syncs: StreamSyncsTable;
  video_stats: VideoStatsTable;
  boost_quotes: BoostQuotesTable;
  creator_boost_opt_outs: CreatorBoostOptOutsTable;
  business_calendar_years: BusinessCalendarYearsTable;
  business_calendar_days: BusinessCalendarDaysTable;
  boost_orders: BoostOrdersTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  checkouts: CheckoutsTable;
  order_id_claims: OrderIdClaimsTable;
}

export type OrderEventRow = Selectable<OrderEventsTable>;
export type NewOrderEvent = Insertable<OrderEventsTable>;
export type TaskOrderRow = Selectable<TaskOrdersTable>;
export type NewTaskOrderRow = Insertable<TaskOrdersTable>;
export type LedgerTransactionRow = Selectable<LedgerTransactionsTable>;
export type LedgerTransferRow = Selectable<LedgerTransfersTable>;
export type BoostOrderRow = Selectable<BoostOrdersTable>;
export type NewBoostOrderRow = Insertable<BoostOrdersTable>;
export type CheckoutRow = Selectable<CheckoutsTable>;
export type NewCheckoutRow = Insertable<CheckoutsTable>;
export type VideoStatsRow = Selectable<VideoStatsTable>;
export type BoostQuoteRow = Selectable<BoostQuotesTable>;
