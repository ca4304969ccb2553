import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../api/app';
import { API_ERROR_STATUS } from '../api/errors';
import type { OpenApiDocument } from '../api/openapi';
import type { Db } from '../db/connect';
import { parseApiTokens } from '../platform/config';

/**
 * SPEC §1 and §8, checked over the WHOLE document the API serves (issue 12): every response of every
 * operation has a complete schema; every instant is an ISO string named `…At`; every amount an
 * integer named `…Fen`; every duration names its unit; refusals are documented with the status
 * §8 gives their code, and 400 is only `validation_failed`. Routes added later are checked too:
 * the test walks whatever the app serves, following every $ref.
 */

type Schema = Record<string, unknown>;

const tokens = parseApiTokens('backend:unit-backend-token-000000,ops:unit-ops-token-00000000,finance:unit-finance-token-000000');
let app: FastifyInstance;
let doc: OpenApiDocument;

beforeAll(async () => {
  // The document is built from the routes alone: nothing reaches the database or Temporal.
  app = buildApp({ db: {} as Db, client: { options: { namespace: 'default' } } as unknown as Client, taskQueue: 'unused', tokens, clock: { nowMs: async () => 0, advance: async () => undefined } });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  doc = (await (await fetch(`${base}/v1/openapi.json`)).json()) as OpenApiDocument;
});

afterAll(async () => {
  await app?.close();
});

/**
 * Where the rules do not apply, and why. GET /v1/openapi.json answers with the document itself: the
 * JSON Schemas inside it are open objects (a JSON Schema is recursive; OpenAPI 3.0 publishes its own).
 */
const OPEN_OBJECTS_ALLOWED = new Set(['GET /v1/openapi.json']);
/** GET /health answers its 503 with the health report itself (SPEC §10), not an error body. */
const OWN_REFUSAL_BODIES = new Set(['GET /health 503']);

/** Every property path the walk visited (to prove it reached the nested ones). */
const visited = new Set<string>();

/** Instants named without a prefix: a deadline's `at` (its object names it) and a clock's `now`. */
const BARE_INSTANT_NAMES = new Set(['at', 'now']);
const MONEY_WORDS = /fen|amount|price|balance|paid|refund|fee|cost|cpm|payout|compensation/i;
const DURATION_WORDS = /duration|timeout|delay|interval|elapsed|timeLeft|retryAfter|window|halfLife|(^|[a-z])age($|[A-Z])|advanced|latency/i;
const DURATION_UNITS = /(Ms|Seconds|Days)$/;
const UNITLESS_TIME_WORDS = /time|date|when|epoch|timestamp/i;

interface Finding {
  readonly where: string;
  readonly problem: string;
}

function resolve(schema: Schema): Schema {
  let current = schema;
  for (let hops = 0; typeof current.$ref === 'string'; hops += 1) {
    if (hops > 10) throw new Error(`a $ref cycle at ${String(current.$ref)}`);
    const name = (current.$ref as string).replace('#/components/schemas/', '');
    const target = doc.components.schemas[name];
    if (!target) throw new Error(`an unresolved $ref ${String(current.$ref)}`);
    current = target;
  }
  return current;
}

const COMBINATORS = ['anyOf', 'oneOf', 'allOf'] as const;
const isNullOnly = (s: Schema) => s.type === 'null' || (Array.isArray(s.enum) && s.enum.length === 1 && s.enum[0] === null);

/** The non-null alternatives a value may take (`x | null` and `anyOf` unwrapped). */
function alternatives(schema: Schema): Schema[] {
  const s = resolve(schema);
  for (const key of COMBINATORS) {
    if (Array.isArray(s[key])) return (s[key] as Schema[]).flatMap(alternatives).filter((a) => !isNullOnly(a));
  }
  return isNullOnly(s) ? [] : [s];
}

function isTyped(s: Schema): boolean {
  return ['type', '$ref', 'enum', 'const', 'not', ...COMBINATORS].some((key) => key in s);
}

/** The structural rule: no `{}`, no object without typed properties, no array without typed items. */
function checkShape(s: Schema, where: string, openAllowed: boolean, out: Finding[]): void {
  if (!isTyped(s)) {
    if (!openAllowed) out.push({ where, problem: 'an untyped schema ({})' });
    return;
  }
  if (s.type === 'object') {
    const properties = (s.properties ?? {}) as Record<string, Schema>;
    const extra = s.additionalProperties;
    const extraTyped = typeof extra === 'object' && extra !== null && isTyped(extra as Schema);
    const extraOpen = extra === true || (typeof extra === 'object' && extra !== null && !extraTyped);
    if (!openAllowed && Object.keys(properties).length === 0 && !extraTyped) out.push({ where, problem: 'an object with neither properties nor typed additionalProperties' });
    if (!openAllowed && extraOpen) out.push({ where, problem: 'an object open to untyped additional properties' });
  }
  if (s.type === 'array' && (typeof s.items !== 'object' || s.items === null || !isTyped(s.items as Schema)) && !openAllowed) {
    out.push({ where, problem: 'an array without typed items' });
  }
}

/** The naming rules of SPEC §1 for one property. */
function checkProperty(name: string, schema: Schema, where: string, out: Finding[]): void {
  const alts = alternatives(schema);
  const isInstant = (a: Schema) => a.type === 'string' && a.format === 'date-time';
  const isInteger = (a: Schema) => a.type === 'integer';
  const isScalarNumberOrText = (a: Schema) => a.type === 'integer' || a.type === 'number' || (a.type === 'string' && a.format === undefined && a.enum === undefined);
  const instantName = /At$/.test(name) || BARE_INSTANT_NAMES.has(name);

  if (alts.some(isInstant) && !instantName) out.push({ where, problem: `an instant named ${name} (instants are named …At)` });
  if (/At$/.test(name) && !(alts.length > 0 && alts.every(isInstant))) out.push({ where, problem: `${name} is not an ISO 8601 date-time string` });
  if (/Fen$/.test(name) && !(alts.length > 0 && alts.every(isInteger))) out.push({ where, problem: `${name} is not an integer (amounts are integers of fen)` });
  if (MONEY_WORDS.test(name) && !/Fen$/.test(name) && alts.some(isScalarNumberOrText)) out.push({ where, problem: `${name} looks like an amount but is not named …Fen` });
  if (/(Ms|Seconds)$/.test(name) && !(alts.length > 0 && alts.every(isInteger))) out.push({ where, problem: `${name} is a duration but not an integer` });
  if (DURATION_WORDS.test(name) && !DURATION_UNITS.test(name) && alts.some((a) => a.type === 'integer' || a.type === 'number')) {
    out.push({ where, problem: `${name} looks like a duration but does not name its unit (…Ms, …Seconds, …Days)` });
  }
  if (UNITLESS_TIME_WORDS.test(name) && !instantName && !DURATION_UNITS.test(name) && alts.some((a) => a.type === 'integer' || a.type === 'number')) {
    out.push({ where, problem: `${name} is a number that looks like a time without a unit` });
  }
}

/** Walks a response schema, every property, item, alternative and $ref. */
function walk(schema: Schema, where: string, openAllowed: boolean, out: Finding[], seen: Set<Schema> = new Set()): void {
  const s = resolve(schema);
  if (seen.has(s)) return;
  seen.add(s);
  checkShape(s, where, openAllowed, out);
  for (const key of COMBINATORS) {
    if (Array.isArray(s[key])) (s[key] as Schema[]).forEach((alt, i) => walk(alt, `${where}.${key}[${i}]`, openAllowed, out, seen));
  }
  for (const [name, property] of Object.entries((s.properties ?? {}) as Record<string, Schema>)) {
    visited.add(`${where}.${name}`);
    checkProperty(name, property, `${where}.${name}`, out);
    walk(property, `${where}.${name}`, openAllowed, out, seen);
  }
  if (typeof s.additionalProperties === 'object' && s.additionalProperties !== null) walk(s.additionalProperties as Schema, `${where}.*`, openAllowed, out, seen);
  if (typeof s.items === 'object' && s.items !== null) walk(s.items as Schema, `${where}[]`, openAllowed, out, seen);
}

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ where: `${method.toUpperCase()} ${path}`, op })));

describe('SPEC §1/§8 over the whole served document (issue 12)', () => {
  test('the document has the operations the rules are checked on', () => {
    expect(operations().length).toBeGreaterThan(30);
  });

  test('every response of every operation has a complete schema', () => {
    const findings: Finding[] = [];
    for (const { where, op } of operations()) {
      for (const [status, response] of Object.entries(op.responses)) {
        const content = Object.entries(response.content ?? {});
        if (status !== '204' && content.length === 0) findings.push({ where: `${where} ${status}`, problem: 'no content' });
        for (const [type, { schema }] of content) {
          const at = `${where} ${status} ${type}`;
          if (type === 'application/json') walk(schema, at, OPEN_OBJECTS_ALLOWED.has(where), findings);
          else if (resolve(schema).type !== 'string') findings.push({ where: at, problem: `a ${type} response without a string schema` });
        }
      }
    }
    expect(findings).toEqual([]);
    // The walk reached nested properties (a shallow walk would pass vacuously).
    for (const path of ['.pendingCancellation.answerDueAt', '.latestUpload.uploadedAt', '.explanation.videosExcluded[].reason', '.temporal.pendingActivities[].scheduledAt', '.error.details']) {
      expect({ path, visited: [...visited].some((p) => p.endsWith(path)) }).toEqual({ path, visited: true });
    }
  });

  test('SPEC §1: instants are ISO strings named …At, amounts integers named …Fen, durations name their unit — everywhere', () => {
    const findings: Finding[] = [];
    for (const { where, op } of operations()) {
      for (const [status, response] of Object.entries(op.responses)) {
        const json = response.content?.['application/json']?.schema;
        if (json && !OPEN_OBJECTS_ALLOWED.has(where)) walk(json, `${where} ${status}`, true, findings);
      }
    }
    for (const [name, schema] of Object.entries(doc.components.schemas)) walk(schema, `#/components/schemas/${name}`, true, findings);
    // Request bodies are JSON shapes too (SPEC §1): the same names for what the backend sends.
    for (const { where, op } of operations()) {
      const body = op.requestBody?.content['application/json']?.schema;
      if (body) walk(body, `${where} request`, true, findings);
    }
    // walk(…, openAllowed = true) reports only the naming rules here; the shapes are the test above.
    expect(findings).toEqual([]);
  });

  test('the rules catch what they are meant to catch (a rule that finds nothing proves nothing)', () => {
    const findings: Finding[] = [];
    const bad: Schema = {
      type: 'object',
      properties: {
        loose: {},
        bag: { type: 'object' },
        open: { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: {} },
        list: { type: 'array', items: {} },
        uploadedAt: { type: 'integer' },
        validUntil: { type: 'string', format: 'date-time' },
        minFen: { type: 'string' },
        price: { type: 'integer' },
        timeout: { type: 'integer' },
        advancedMs: { type: 'number' },
        publishTime: { type: 'integer' },
      },
    };
    walk(bad, 'bad', false, findings);
    const problems = findings.map((f) => f.where);
    for (const where of ['bad.loose', 'bad.bag', 'bad.open', 'bad.list', 'bad.uploadedAt', 'bad.validUntil', 'bad.minFen', 'bad.price', 'bad.timeout', 'bad.advancedMs', 'bad.publishTime']) {
      expect({ where, found: problems.includes(where) }).toEqual({ where, found: true });
    }
    const good: Schema = {
      type: 'object',
      properties: {
        createdAt: { type: 'string', format: 'date-time' },
        acceptedAt: { anyOf: [{ type: 'string', format: 'date-time' }, { type: 'string', nullable: true, enum: [null] }] },
        priceFen: { type: 'integer' },
        timeLeftMs: { type: 'integer' },
        balanced: { type: 'boolean' },
        tags: { type: 'array', items: { type: 'string' } },
        counts: { type: 'object', additionalProperties: { type: 'integer' } },
      },
      required: ['createdAt'],
      additionalProperties: false,
    };
    const clean: Finding[] = [];
    walk(good, 'good', false, clean);
    expect(clean).toEqual([]);
  });

  test('SPEC §8: every refusal has the §8 error body; 400 is only validation_failed; a business refusal is 409, 422 or 429', () => {
    const byStatus = new Map<number, string[]>();
    for (const [code, status] of Object.entries(API_ERROR_STATUS)) byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
    expect(byStatus.get(400)).toEqual(['validation_failed']);
    for (const [status, codes] of byStatus) {
      if ([401, 403, 404, 503, 400].includes(status)) continue;
      expect({ codes, status, business: [409, 422, 429].includes(status) }).toEqual({ codes, status, business: true });
    }
    const errorRef = { $ref: '#/components/schemas/Error' };
    const findings: Finding[] = [];
    for (const { where, op } of operations()) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) >= 400 && !OWN_REFUSAL_BODIES.has(`${where} ${status}`) && JSON.stringify(response.content?.['application/json']?.schema) !== JSON.stringify(errorRef)) {
          findings.push({ where: `${where} ${status}`, problem: 'a refusal without the §8 error body' });
        }
      }
      const bad = op.responses['400'];
      if (bad && /\b(invalid_state|deadline_passed|insufficient_funds|price_|forbidden|not_found)/.test(bad.description)) findings.push({ where: `${where} 400`, problem: `400 describes a business refusal: ${bad.description}` });
      // Every "NNN code" a description names must be the status §8 gives that code.
      const texts = [op.summary, op.description ?? '', ...Object.values(op.responses).map((r) => r.description)];
      for (const text of texts) {
        for (const [, status, code] of text.matchAll(/\b([1-5]\d\d) ([a-z_]+)\b/g)) {
          const expected = (API_ERROR_STATUS as Record<string, number>)[code as string];
          if (expected !== undefined && expected !== Number(status)) findings.push({ where, problem: `says ${status} ${code}; §8 answers ${code} with ${expected}` });
        }
      }
    }
    expect(findings).toEqual([]);
  });

  test('SPEC §8: the schema itself expresses every shape rule: an upload is anyOf (draftId | videoUrl), not a refine', () => {
    const upload = resolve(doc.paths['/v1/task-orders/{orderId}/videos']?.post?.requestBody?.content['application/json']?.schema ?? {});
    const branches = (upload.anyOf ?? upload.oneOf) as Schema[] | undefined;
    expect(branches?.map((b) => (resolve(b).required as string[]).filter((r) => r !== 'actor').sort())).toEqual([['draftId'], ['videoUrl']]);
    for (const branch of branches ?? []) expect(resolve(branch).additionalProperties).toBe(false);
  });

  test('SPEC §8: a combined payment documents its 403 (another client\'s order) and its 404', () => {
    const pay = doc.paths['/v1/balance-payments']?.post;
    expect(pay?.responses['403']?.description).toMatch(/not the named client/);
    expect(pay?.responses['404']?.description).toMatch(/does not exist/);
    expect(pay?.description).toMatch(/403 forbidden/);
  });
});
