import { isIP } from 'node:net';
import type { TLSConfig } from '@temporalio/client';
import { loadTemporalTls } from './temporal-tls';

/**
 * The roles an API token can have (SPEC §8), and `metrics`: a scraper's token, which may read
 * GET /metrics and nothing else (SPEC §10, docs/operations.md).
 */
export const API_ROLES = ['backend', 'ops', 'finance', 'metrics'] as const;
export type ApiRole = (typeof API_ROLES)[number];

/** One configured bearer token, its role and, optionally, the person it belongs to (issue 18). */
export interface ApiToken {
  readonly role: ApiRole;
  readonly token: string;
  /**
   * `ops:alice:<token>`: the person recorded for what this token does (O4 actions, F5 releases,
   * console sessions). Unset (`role:token`): the token's fingerprint is recorded instead.
   */
  readonly person?: string;
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
  /**
   * TRUST_PROXY (issue 18): Fastify's `trustProxy`, so that behind a TLS-terminating proxy the
   * request's protocol is https (X-Forwarded-Proto) and the console cookie is `Secure` with HSTS.
   * `true`/`false`, or a comma list of the proxies' addresses/CIDRs (safer than `true`). Unset: false.
   */
  readonly trustProxy: TrustProxy;
}

/** Fastify's `trustProxy` values we accept from TRUST_PROXY. */
export type TrustProxy = boolean | string;

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
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
  };
}

/** An IPv4/IPv6 address, optionally with a /prefix length in range. */
function isAddressOrCidr(entry: string): boolean {
  const [address = '', prefix, extra] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  return prefix === undefined || (/^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}

/**
 * TRUST_PROXY: `true`/`false`, or proxy addresses (`10.0.0.1,10.1.0.0/16`). Anything
 * else is refused at start: a typo must neither trust every client's X-Forwarded-* nor silently
 * leave the cookie without `Secure`.
 */
export function parseTrustProxy(value: string | undefined): TrustProxy {
  const raw = value?.trim();
  if (!raw) return false;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  const proxies = raw.split(',').map((entry) => entry.trim());
  if (proxies.every(isAddressOrCidr)) return proxies.join(',');
  throw new Error('TRUST_PROXY must be true, false, or a comma list of proxy addresses (CIDR allowed)');
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

/** A person named in API_TOKENS: a short id, never starting `token-` (the fingerprints' prefix). */
const PERSON = /^(?!token-)[A-Za-z0-9_.-]{1,64}$/;

/**
 * Parses `role:token[,role:token…]`, where an entry may name its person: `role:person:token`
 * (issue 18). Refuses (without echoing any token) an unknown role, a malformed person, a token
 * that is too short or has other characters, and a token given twice.
 */
export function parseApiTokens(value: string): ApiToken[] {
  const tokens: ApiToken[] = [];
  const entries = value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  entries.forEach((entry, i) => {
    const parsed = parseTokenEntry(entry, `API_TOKENS entry ${i + 1}`);
    if (tokens.some((t) => t.token === parsed.token)) throw new Error(`API_TOKENS entry ${i + 1} (${parsed.role}): the same token is configured twice`);
    tokens.push(parsed);
  });
  if (tokens.length === 0) throw new Error('API_TOKENS is set but names no token');
  return tokens;
}

/** One `role:token` or `role:person:token` entry (a token never holds ':', so the last part is it). */
function parseTokenEntry(entry: string, where: string): ApiToken {
  const parts = entry.split(':').map((part) => part.trim());
  if (parts.length < 2 || parts.length > 3) throw new Error(`${where} is not role:token or role:person:token`);
  const role = parts[0] as string;
  const token = parts[parts.length - 1] as string;
  const person = parts.length === 3 ? parts[1] : undefined;
  if (!(API_ROLES as readonly string[]).includes(role)) throw new Error(`${where}: unknown role "${role}" (roles: ${API_ROLES.join(', ')})`);
  if (person !== undefined && !PERSON.test(person)) throw new Error(`${where} (${role}): a person is 1–64 characters of A–Z a–z 0–9 _ . - and does not start with "token-"`);
  if (!TOKEN.test(token)) throw new Error(`${where} (${role}): a token is 16–256 characters of A–Z a–z 0–9 . _ ~ + / = -`);
  return person === undefined ? { role: role as ApiRole, token } : { role: role as ApiRole, token, person };
}

function port(value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`invalid port: ${value}`);
  return n;
}
