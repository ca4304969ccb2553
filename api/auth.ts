import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { API_ROLES, type ApiRole, type ApiToken } from '../platform/config';
import { ApiError } from './errors';

export { API_ROLES, type ApiRole, type ApiToken };

/** The caller's person; only a route behind the role check calls this (so it is always set). */
export function callerPerson(request: FastifyRequest): string {
  if (request.apiPerson === undefined) throw new Error('callerPerson on a request that is not authenticated');
  return request.apiPerson;
}

/**
 * SPEC §8 authentication: `Authorization: Bearer <token>`, each token has a role, each route
 * declares the roles it allows in its options (`config: { roles: ['backend'] }`) or is declared
 * public (`config: { public: true }`). One onRoute hook refuses, at registration (so at startup), a
 * route that declares neither: a forgotten declaration can never open a route. One onRequest hook
 * enforces the declaration on every request before its body is even read.
 */
declare module 'fastify' {
  interface FastifyContextConfig {
    /** The roles whose tokens may call this route. */
    roles?: readonly ApiRole[];
    /** A route anyone may call without a token (GET /health, the OpenAPI document, /docs). */
    public?: boolean;
  }
  interface FastifyRequest {
    /** The role of the caller's token, once authenticated (undefined on public routes). */
    apiRole?: ApiRole;
    /**
     * Who the caller's token belongs to, once authenticated (issue 18): the person API_TOKENS names
     * for it, or its fingerprint. This, never a name in a body, is recorded for O4 actions and F5 releases.
     */
    apiPerson?: string;
  }
}

/** An authenticated caller: the token's role and person (its name, or its fingerprint). */
export interface Caller {
  readonly role: ApiRole;
  readonly person: string;
}

type Digest = Buffer;

/**
 * Looks a presented token up among the configured ones in constant time: both sides are SHA-256
 * digests (so neither a token's length nor its content leaks through timing), every configured
 * token is compared, and the loop never stops early.
 */
export function createTokenVerifier(tokens: readonly ApiToken[]) {
  const entries = tokens.map((entry) => ({ caller: { role: entry.role, person: personOf(entry) }, digest: sha256(entry.token) }));
  return (presented: string): Caller | undefined => {
    const digest = sha256(presented);
    let found: Caller | undefined;
    for (const entry of entries) {
      if (timingSafeEqual(digest, entry.digest) && found === undefined) found = entry.caller;
    }
    return found;
  };
}

/**
 * The person recorded for a token's actions: its configured name, or `token-` and the first 8 hex
 * digits of its SHA-256 — enough to tell tokens apart in the records, useless to call the API with.
 */
export function personOf(entry: Pick<ApiToken, 'token' | 'person'>): string {
  return entry.person ?? tokenFingerprint(entry.token);
}

export function tokenFingerprint(token: string): string {
  return `token-${sha256(token).toString('hex').slice(0, 8)}`;
}

function sha256(value: string): Digest {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** One fresh random token per role (npm start and the API when API_TOKENS is unset). */
export function generateApiTokens(): ApiToken[] {
  return API_ROLES.map((role) => ({ role, token: `${role}_${randomBytes(24).toString('base64url')}` }));
}

/** The console banner that shows generated tokens once, at start. */
export function generatedTokensBanner(tokens: readonly ApiToken[]): string {
  const width = Math.max(...tokens.map((t) => t.role.length));
  return [
    '',
    '================================================================================',
    ' API_TOKENS is not set: these random API tokens are valid until this process stops.',
    ' Call the API with the header  Authorization: Bearer <token>',
    '',
    ...tokens.map((t) => `   ${t.role.padEnd(width)}  ${t.token}`),
    '',
    ' Set API_TOKENS="backend:…,ops:alice:…,finance:bob:…" to choose your own (see README).',
    '================================================================================',
    '',
  ].join('\n');
}

/** The token of an `Authorization: Bearer <token>` header; undefined for anything else. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer[ ]+([^\s]+)[ ]*$/i.exec(header);
  return match?.[1];
}

const ROUTE_ROLES_HELP = "declare config: { roles: [...] } (or config: { public: true } for a route anyone may call)";

/** The onRoute check: every route names its roles (fail closed), and only known roles. */
export function checkRouteAccess(route: Pick<RouteOptions, 'method' | 'url' | 'config'>): void {
  const config = route.config ?? {};
  const name = `${String(route.method)} ${route.url}`;
  if (config.public === true) {
    if (config.roles !== undefined) throw new Error(`route ${name} is public and has roles: choose one`);
    return;
  }
  if (!Array.isArray(config.roles) || config.roles.length === 0) throw new Error(`route ${name} declares no roles: ${ROUTE_ROLES_HELP}`);
  for (const role of config.roles) {
    if (!(API_ROLES as readonly string[]).includes(role)) throw new Error(`route ${name} names an unknown role ${String(role)}`);
  }
}

/** Installs the role check on `app`: every route registered on it from now on is covered. */
export function installAuth(app: FastifyInstance, tokens: readonly ApiToken[]): void {
  const verify = createTokenVerifier(tokens);

  app.addHook('onRoute', (route) => checkRouteAccess(route));

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.is404) return; // no such route: the not-found handler answers 404
    const config = request.routeOptions.config;
    if (config.public === true) return;
    const token = bearerToken(request.headers.authorization);
    const caller = token === undefined ? undefined : verify(token);
    if (caller === undefined) {
      reply.header('www-authenticate', 'Bearer');
      throw new ApiError('unauthenticated', token === undefined ? 'send Authorization: Bearer <token>' : 'unknown token');
    }
    const { role } = caller;
    request.apiRole = role;
    request.apiPerson = caller.person;
    const allowed = config.roles ?? [];
    if (!allowed.includes(role)) throw new ApiError('forbidden', `role ${role} may not call ${request.method} ${request.routeOptions.url ?? ''}`);
  });
}
