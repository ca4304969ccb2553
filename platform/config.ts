import type { TLSConfig } from '@temporalio/client';
import { loadTemporalTls } from './temporal-tls';

/**
 * The roles an API token can have (SPEC §8), and `metrics`: a scraper's token, which may read
 * GET /metrics and nothing else (SPEC §10, docs/operations.md).
 */
export const API_ROLES = ['backend', 'ops', 'finance', 'metrics'] as const;
export type ApiRole = (typeof API_ROLES)[number];

/** One configured bearer token and its role. */
export interface ApiToken {
  readonly role: ApiRole;
  readonly token: string;
}

/** Runtime configuration from the environment; every value has a default for `npm start`. */
export interface Config {
  readonly databaseUrl: string | undefined; // unset: npm start runs an embedded PostgreSQL
  readonly temporalAddress: string | undefined; // unset: npm start runs a Temporal dev server
  readonly temporalNamespace: string;
  /** TEMPORAL_TLS_CERT/KEY/CA/SERVER_NAME, TEMPORAL_TLS: TLS or mTLS to Temporal (platform/temporal-tls.ts); unset: plaintext. */
  readonly temporalTls: TLSConfig | undefined;
  readonly taskQueue: string;
  readonly apiHost: string;
  readonly apiPort: number;
  readonly dataDir: string;
  readonly embeddedPostgresPort: number;
  readonly temporalPort: number;
  readonly temporalUiPort: number;
  /**
   * API_TOKENS, e.g. `backend:tok1,ops:tok2,finance:tok3` (a role may have several tokens).
   * Unset: npm start and the API generate random tokens at start and print them once.
   */
  readonly apiTokens: readonly ApiToken[] | undefined;
  /**
   * E5: where webhooks may go (platform/url-safety.ts). http to loopback only outside production
   * (NODE_ENV=production refuses it; WEBHOOK_ALLOW_HTTP_LOOPBACK=true|false overrides);
   * private-range targets only with WEBHOOK_ALLOW_PRIVATE_TARGETS=true.
   */
  readonly webhookUrlPolicy: { readonly allowHttpLoopback: boolean; readonly allowPrivateTargets: boolean };
  /**
   * METRICS_TOKEN: one more `metrics` token (the API adds it to API_TOKENS' tokens), and the token a
   * worker's metrics endpoint requires. Unset: a worker's endpoint serves loopback only, tokenless.
   */
  readonly metricsToken: string | undefined;
  /** WORKER_METRICS_PORT: the standalone worker's metrics endpoint (unset: none). */
  readonly workerMetricsPort: number | undefined;
  /** WORKER_METRICS_HOST: where that endpoint listens (default 127.0.0.1). */
  readonly workerMetricsHost: string;
  /** TEMPORAL_METRICS_ADDRESS: host:port of the Temporal SDK runtime's Prometheus exporter (read through our endpoint). */
  readonly temporalMetricsAddress: string;
  /** METRICS_COLLECT_INTERVAL_SECONDS: the order gauges of GET /metrics are collected at most this often. */
  readonly metricsCollectIntervalSeconds: number;
  /**
   * F6: CONSOLE_SESSION_KEY, 32 bytes as 64 hex digits or base64, the key of the console's session
   * cookies: with it, sessions survive an API restart and every API instance accepts the others'.
   * Unset: a random key per process (a restart signs everyone out).
   */
  readonly consoleSessionKey: Buffer | undefined;
  /**
   * E5: WEBHOOK_SECRETS_KEY, 32 bytes as 64 hex digits or base64: webhook signing secrets are
   * stored encrypted under it (platform/secret-box.ts). The API and every worker need the same key.
   */
  readonly webhookSecretsKey: Buffer | undefined;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    databaseUrl: env.DATABASE_URL || undefined,
    temporalAddress: env.TEMPORAL_ADDRESS || undefined,
    temporalNamespace: env.TEMPORAL_NAMESPACE || 'default',
    temporalTls: loadTemporalTls(env),
    taskQueue: env.TASK_QUEUE || 'xingtu-orders',
    apiHost: env.API_HOST || '127.0.0.1',
    apiPort: port(env.PORT, 3000),
    dataDir: env.DATA_DIR || '.data',
    embeddedPostgresPort: port(env.EMBEDDED_PG_PORT, 54329),
    temporalPort: port(env.TEMPORAL_PORT, 7233),
    temporalUiPort: port(env.TEMPORAL_UI_PORT, 8233),
    apiTokens: env.API_TOKENS?.trim() ? parseApiTokens(env.API_TOKENS) : undefined,
    webhookUrlPolicy: loadWebhookUrlPolicy(env),
    metricsToken: env.METRICS_TOKEN?.trim() ? parseMetricsToken(env.METRICS_TOKEN.trim()) : undefined,
    workerMetricsPort: env.WORKER_METRICS_PORT ? port(env.WORKER_METRICS_PORT, 0) : undefined,
    workerMetricsHost: env.WORKER_METRICS_HOST || '127.0.0.1',
    temporalMetricsAddress: env.TEMPORAL_METRICS_ADDRESS || '127.0.0.1:9465',
    metricsCollectIntervalSeconds: boundedInteger('METRICS_COLLECT_INTERVAL_SECONDS', env.METRICS_COLLECT_INTERVAL_SECONDS, 30, 1, 3600),
    consoleSessionKey: loadConsoleSessionKey(env),
    webhookSecretsKey: loadWebhookSecretsKey(env),
  };
}

/** F6: Config.consoleSessionKey from the environment alone; a malformed key is refused, never echoed. */
export function loadConsoleSessionKey(env: NodeJS.ProcessEnv = process.env): Buffer | undefined {
  return key32('CONSOLE_SESSION_KEY', env.CONSOLE_SESSION_KEY);
}

/** E5: Config.webhookSecretsKey from the environment alone (the API and the workers both need it). */
export function loadWebhookSecretsKey(env: NodeJS.ProcessEnv = process.env): Buffer | undefined {
  return key32('WEBHOOK_SECRETS_KEY', env.WEBHOOK_SECRETS_KEY);
}

/** A 32-byte key given as 64 hex digits or base64; unset or empty: undefined. */
function key32(name: string, raw: string | undefined): Buffer | undefined {
  const value = raw?.trim();
  if (!value) return undefined;
  const key = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : /^[A-Za-z0-9+/_-]{43}=?$/.test(value) ? Buffer.from(value, 'base64') : undefined;
  if (key?.length !== 32) throw new Error(`${name} must be 32 bytes: 64 hex digits or 44 characters of base64 (e.g. \`openssl rand -base64 32\`)`);
  return key;
}

/** METRICS_TOKEN, checked like an API token (never echoed). */
function parseMetricsToken(token: string): string {
  if (!TOKEN.test(token)) throw new Error('METRICS_TOKEN: a token is 16–256 characters of A–Z a–z 0–9 . _ ~ + / = -');
  return token;
}

function boundedInteger(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer from ${min} to ${max}`);
  return n;
}

/** E5: Config.webhookUrlPolicy from the environment alone (the API and the worker both need it). */
export function loadWebhookUrlPolicy(env: NodeJS.ProcessEnv = process.env): Config['webhookUrlPolicy'] {
  return {
    allowHttpLoopback: flag(env.WEBHOOK_ALLOW_HTTP_LOOPBACK, 'WEBHOOK_ALLOW_HTTP_LOOPBACK') ?? env.NODE_ENV !== 'production',
    allowPrivateTargets: flag(env.WEBHOOK_ALLOW_PRIVATE_TARGETS, 'WEBHOOK_ALLOW_PRIVATE_TARGETS') ?? false,
  };
}

/** `true` / `false`, or undefined when unset; anything else is refused (a typo must not open a hole). */
function flag(value: string | undefined, name: string): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new Error(`${name} must be true or false`);
}

/** RFC 6750 token68 characters; at least 16 of them, so a token cannot be guessed. */
const TOKEN = /^[A-Za-z0-9._~+/=-]{16,256}$/;

/**
 * Parses `role:token[,role:token…]`. Refuses (without echoing any token) an unknown role, a token
 * that is too short or has other characters, and a token given twice.
 */
export function parseApiTokens(value: string): ApiToken[] {
  const tokens: ApiToken[] = [];
  const entries = value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  entries.forEach((entry, i) => {
    const colon = entry.indexOf(':');
    const role = entry.slice(0, colon).trim();
    const token = entry.slice(colon + 1).trim();
    const where = `API_TOKENS entry ${i + 1}`;
    if (colon < 0) throw new Error(`${where} is not role:token`);
    if (!(API_ROLES as readonly string[]).includes(role)) throw new Error(`${where}: unknown role "${role}" (roles: ${API_ROLES.join(', ')})`);
    if (!TOKEN.test(token)) throw new Error(`${where} (${role}): a token is 16–256 characters of A–Z a–z 0–9 . _ ~ + / = -`);
    if (tokens.some((t) => t.token === token)) throw new Error(`${where} (${role}): the same token is configured twice`);
    tokens.push({ role: role as ApiRole, token });
  });
  if (tokens.length === 0) throw new Error('API_TOKENS is set but names no token');
  return tokens;
}

function port(value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`invalid port: ${value}`);
  return n;
}
