import { performance } from 'node:perf_hooks';
import type { Db } from '../db/connect';
import { feedEventId, feedEventJson } from '../db/event-feed';
import { claimDeliveries, fanOut, recordAttempt, recordOutcomeOnly, signingSecrets, type AttemptRecord, type ClaimedDelivery, type RetryRules } from '../db/webhooks';
import { unavailableDependency } from '../platform/faults';
import { SecretUnreadableError, createSecretBox, type SecretBox } from '../platform/secret-box';
import { loadWebhookSecretsKey } from '../platform/config';
import type { WebhookUrlPolicy } from '../platform/url-safety';
import { signWebhook } from '../platform/webhook-signing';
import { ATTEMPT_ERROR_CHARS, DeliveryKilled, postWebhook, storableText } from './webhook-delivery-http';

/**
 * E5: the webhook delivery loop, run in every worker process next to the Temporal worker
 * (worker/main.ts, scripts/start.ts). Any number may run: the fan-out locks one endpoint at a
 * time and the claim takes rows with FOR UPDATE SKIP LOCKED under a lease, so one event is never
 * sent twice at the same time; a loop that dies mid-delivery leaves its lease to run out, and the
 * next claim sends the event again with the same webhook-id (at least once).
 * docs/decisions.md says why a loop and not a workflow per endpoint.
 */
export interface WebhookDeliveryOptions {
  readonly urlPolicy: WebhookUrlPolicy;
  /** How stored signing secrets are opened (default: with WEBHOOK_SECRETS_KEY, platform/secret-box.ts). */
  readonly secrets?: SecretBox;
  /** How often an idle loop looks for work. */
  readonly pollIntervalMs?: number;
  /** One attempt's limit for the whole exchange (E5: 10 s). */
  readonly timeoutMs?: number;
  /** The first retry's delay; each further one doubles, up to backoffMaxMs. */
  readonly backoffBaseMs?: number;
  readonly backoffMaxMs?: number;
  /** A delivery failing this long gives up, an endpoint failing this long is disabled (E5: 3 days). */
  readonly retryWindowMs?: number;
  /** How long a claim holds a delivery; longer than timeoutMs, so a live send never loses it. */
  readonly leaseMs?: number;
  /** Deliveries claimed and sent at once per loop (each is sent as soon as it is claimed, so the lease covers one send). */
  readonly concurrency?: number;
  /** Told about loop-level problems (never a secret or a payload). */
  readonly log?: (message: string) => void;
  /** Told about every finished attempt (e.g. a metrics counter by outcome). */
  readonly onAttempt?: (attempt: { outcome: string; latencyMs: number }) => void;
}

export const WEBHOOK_DEFAULTS = {
  pollIntervalMs: 1000,
  timeoutMs: 10_000,
  backoffBaseMs: 5_000,
  backoffMaxMs: 6 * 3_600_000,
  retryWindowMs: 3 * 24 * 3_600_000,
  concurrency: 8,
} as const;

/** Exponential backoff: base × 2^(attempt−1), capped; ±10 % jitter so failing endpoints do not retry in lockstep. */
export function retryDelayMs(attemptNo: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attemptNo - 1, 0), 40);
  const delay = Math.min(maxMs, baseMs * 2 ** exponent);
  return Math.round(delay * (0.9 + 0.2 * random()));
}

/** The attempts a delivery failing throughout gets within the window (for docs and tests). */
export function attemptsWithin(windowMs: number, baseMs: number, maxMs: number): number {
  let elapsed = 0;
  let attempts = 1;
  while (elapsed < windowMs) {
    elapsed += retryDelayMs(attempts, baseMs, maxMs, () => 0.5);
    attempts += 1;
  }
  return attempts;
}

export interface WebhookDelivery {
  /** Finishes the sends in flight (recording them), then stops. */
  stop(): Promise<void>;
  /** Stops at once, as a crash would: sends in flight are cut off and nothing more is written. */
  kill(): Promise<void>;
}

export function startWebhookDelivery(db: Db, options: WebhookDeliveryOptions): WebhookDelivery {
  const o = { ...WEBHOOK_DEFAULTS, ...withoutUndefined(options) };
  const leaseMs = options.leaseMs ?? o.timeoutMs + 20_000;
  const log = options.log ?? (() => undefined);
  const secrets = options.secrets ?? createSecretBox(loadWebhookSecretsKey());
  const killer = new AbortController();
  let running = true;
  let wake: (() => void) | undefined;
  const sleep = (ms: number) => new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });

  /**
   * The signature headers, or why the secret cannot be opened (a missing or wrong
   * WEBHOOK_SECRETS_KEY): recorded as a failed attempt, so it backs off, shows in the endpoint's
   * deliveries and, if it lasts, disables the endpoint and lists it as webhook_failing (O1).
   */
  function signedHeaders(claim: ClaimedDelivery, id: string, attemptedAt: Date, body: string): { headers: Record<string, string> } | { unreadable: string } {
    try {
      return { headers: { ...signWebhook(signingSecrets(claim, attemptedAt.getTime(), secrets), id, Math.floor(attemptedAt.getTime() / 1000), body) } };
    } catch (error) {
      if (error instanceof SecretUnreadableError) return { unreadable: error.message };
      throw error;
    }
  }

  async function deliver(claim: ClaimedDelivery): Promise<void> {
    const id = feedEventId(claim.id);
    const body = JSON.stringify(feedEventJson(claim));
    const attemptedAt = new Date();
    const started = performance.now();
    const signing = signedHeaders(claim, id, attemptedAt, body);
    const result = 'unreadable' in signing
      ? { outcome: 'secret_unreadable' as const, statusCode: null, responseSnippet: null, error: signing.unreadable }
      : await postWebhook(claim.url, { ...signing.headers }, body, { timeoutMs: o.timeoutMs, policy: options.urlPolicy, kill: killer.signal });
    const latencyMs = Math.max(0, Math.round(performance.now() - started));
    if (killer.signal.aborted) throw new DeliveryKilled('killed');
    const attempt: AttemptRecord = { endpointId: claim.endpoint_id, notificationId: claim.id, leaseToken: claim.lease_token, attemptNo: claim.attempt_count, attemptedAt, latencyMs, ...result };
    const recorded = await record(attempt, { retryDelayMs: retryDelayMs(claim.attempt_count, o.backoffBaseMs, o.backoffMaxMs), retryWindowMs: o.retryWindowMs });
    options.onAttempt?.({ outcome: recorded, latencyMs });
  }

  /**
   * §10 hostile peers: an attempt must never go unrecorded into a lapsed lease, which resends at
   * once and for ever (a receiver's answer PostgreSQL refuses did exactly that). If the attempt
   * cannot be written, a minimal one with only values of our own (`unrecordable`: a failure, so
   * the delivery backs off and the endpoint counts as failing, O1) is written instead; if even that
   * fails, the delivery and endpoint are updated without an attempt row. Returns the outcome
   * recorded; throws only when nothing at all could be written (the database is away: the lease
   * then runs out, one resend per lease).
   */
  async function record(attempt: AttemptRecord, rules: RetryRules): Promise<AttemptRecord['outcome']> {
    try {
      await recordAttempt(db, attempt, rules);
      return attempt.outcome;
    } catch (error) {
      log(`webhook delivery: could not record an attempt (${attempt.outcome}) of event ${attempt.notificationId} to ${attempt.endpointId}: ${describe(error)}; recording it as unrecordable`);
      const detail = `the attempt (${attempt.outcome}${attempt.statusCode === null ? '' : ` ${attempt.statusCode}`}) could not be recorded: ${describe(error)}`;
      const fallback: AttemptRecord = { ...attempt, outcome: 'unrecordable', statusCode: null, responseSnippet: null, error: storableText(detail, ATTEMPT_ERROR_CHARS) };
      try {
        await recordAttempt(db, fallback, rules);
      } catch (second) {
        log(`webhook delivery: could not record an unrecordable attempt either: ${describe(second)}; backing off without an attempt row`);
        await recordOutcomeOnly(db, attempt, rules);
      }
      return 'unrecordable';
    }
  }

  /**
   * Sends in flight, at most `concurrency`. Each is claimed as a slot frees, not in batches waited
   * for as a whole: a receiver that answers only at the timeout (or never) holds one slot, never
   * the other endpoints' and orders' events (§10 hostile peers).
   */
  const inFlight = new Set<Promise<void>>();
  let lastFanOutMs = 0;
  let fanOutBehind = false;

  function send(claim: ClaimedDelivery): void {
    const sending: Promise<void> = deliver(claim)
      .catch((error: unknown) => {
        if (!(error instanceof DeliveryKilled)) log(`webhook delivery: could not record an attempt: ${describe(error)}`);
      })
      .finally(() => {
        inFlight.delete(sending);
        wake?.(); // a slot is free: claim the next due delivery now
      });
    inFlight.add(sending);
  }

  /** The feed into deliveries: at most once per poll interval, or at once while it is behind. */
  async function fanOutIfDue(): Promise<number> {
    if (!fanOutBehind && Date.now() - lastFanOutMs < o.pollIntervalMs) return 0;
    lastFanOutMs = Date.now();
    let fanned = 0;
    for (let i = 0; i < 20 && running; i += 1) {
      const n = await fanOut(db, 500);
      fanned += n;
      if (n === 0) break;
    }
    fanOutBehind = fanned > 0;
    return fanned;
  }

  /** One round: fan out, then claim into the free slots and start sending; true when there may be more work right away. */
  async function round(): Promise<boolean> {
    const fanned = await fanOutIfDue();
    if (!running) return false;
    const free = o.concurrency - inFlight.size;
    if (free <= 0) return false; // wait for a slot (a finished send wakes the loop)
    const claims = await claimDeliveries(db, free, leaseMs);
    for (const claim of claims) send(claim);
    return claims.length === free || fanned > 0;
  }

  const loop = (async () => {
    while (running) {
      let busy = false;
      try {
        busy = await round();
      } catch (error) {
        if (!running) break;
        log(`webhook delivery: ${unavailableDependency(error) ? 'database unavailable' : 'error'} (${describe(error)}); retrying`);
      }
      if (running && !busy) await sleep(o.pollIntervalMs);
    }
    await Promise.allSettled([...inFlight]);
  })();

  return {
    async stop() {
      running = false;
      wake?.();
      await loop;
    },
    async kill() {
      running = false;
      killer.abort();
      wake?.();
      await loop.catch(() => undefined);
    },
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
