/**
 * SPEC §10 "commands by outcome": which HTTP requests are commands, what each is called, and what
 * became of it. Pure: it reads only a request's method, its route pattern (never the raw URL, so
 * the label set stays bounded) and its response's status, error code and replay header.
 */

/** The command routes of SPEC §8 and their names (the task commands carry the workflow's names). */
const COMMAND_ROUTES: Readonly<Record<string, string>> = {
  '/v1/task-orders': 'place_task_order',
  '/v1/task-orders/:orderId/accept': 'accept',
  '/v1/task-orders/:orderId/reject': 'reject',
  '/v1/task-orders/:orderId/remind': 'remind',
  '/v1/task-orders/:orderId/restore-price': 'restore_price',
  '/v1/task-orders/:orderId/pay-balance': 'pay_balance',
  '/v1/task-orders/:orderId/videos': 'upload_video',
  '/v1/task-orders/:orderId/reviews': 'review',
  '/v1/task-orders/:orderId/publish': 'publish',
  '/v1/task-orders/:orderId/cancel': 'cancel',
  '/v1/task-orders/:orderId/cancel-response': 'cancel_response',
  '/v1/balance-payments': 'pay_balances',
  '/v1/clients/:clientId/top-ups': 'top_up',
  '/v1/video-stats': 'post_video_stats',
  '/v1/boost-quotes': 'quote_boost',
  '/v1/boost-orders': 'place_boost_order',
  '/v1/boost-orders/:boostOrderId/release-refund': 'release_refund',
  '/v1/ops/orders/:orderId/actions': 'ops_action',
};

/** The sandbox clock moves time; it changes no order, so it is not counted as a command. */
const NOT_COMMANDS = /^\/v1\/sandbox\//;

/**
 * The command a request is, or undefined when it is none: every POST under /v1/ but the sandbox
 * clock. A POST route added later without an entry above is still counted, under a name derived
 * from its pattern (`/v1/webhook-endpoints/:id/redeliver` → `webhook_endpoints.redeliver`).
 */
export function commandName(method: string, routePattern: string | undefined): string | undefined {
  if (method !== 'POST' || routePattern === undefined || !routePattern.startsWith('/v1/') || NOT_COMMANDS.test(routePattern)) return undefined;
  return COMMAND_ROUTES[routePattern] ?? derivedName(routePattern);
}

function derivedName(routePattern: string): string {
  return routePattern
    .slice('/v1/'.length)
    .split('/')
    .filter((segment) => segment !== '' && !segment.startsWith(':'))
    .map((segment) => segment.replace(/[^A-Za-z0-9]+/g, '_'))
    .join('.');
}

/** What became of a command (a bounded set: the outcomes below and SPEC §8's error codes). */
export type CommandOutcome = 'applied' | 'pending' | 'replayed' | string;

/**
 * `applied`: answered 2xx (the order after it, or the existing one for a repeated placement);
 * `pending`: 202, accepted by the workflow but not saved yet; `replayed`: an Idempotency-Key replay
 * (the first answer counted already); otherwise the error code of the body, or `http_<status>`
 * when the body named none (never a free text, so the series stay few).
 */
export function commandOutcome(status: number, errorCode: string | undefined, replayed: boolean, knownCodes: ReadonlySet<string>): CommandOutcome {
  if (replayed) return 'replayed';
  if (status === 202) return 'pending';
  if (status >= 200 && status < 300) return 'applied';
  if (errorCode !== undefined && knownCodes.has(errorCode)) return errorCode;
  return `http_${status}`;
}

/** The `error.code` of a SPEC §8 error body, read from the serialized payload; undefined otherwise. */
export function errorCodeOf(payload: unknown): string | undefined {
  if (typeof payload !== 'string' || payload.length > 64 * 1024 || !payload.startsWith('{')) return undefined;
  try {
    const code = (JSON.parse(payload) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

/** The route label of an HTTP request: its pattern, or `unmatched` for a 404 without a route. */
export function routeLabel(routePattern: string | undefined, is404: boolean): string {
  return is404 || routePattern === undefined ? 'unmatched' : routePattern;
}
