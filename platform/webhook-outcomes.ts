/**
 * What an attempt came to. `secret_unreadable`: the stored signing secret could not be opened
 * (WEBHOOK_SECRETS_KEY), nothing was sent. `unrecordable`: the attempt's own outcome could not be
 * written (a database error while recording it); it counts as a failure (backoff, then resent).
 */
export const ATTEMPT_OUTCOMES = ['delivered', 'http_error', 'timeout', 'network_error', 'refused_target', 'secret_unreadable', 'unrecordable'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];
