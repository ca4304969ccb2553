import { sql } from 'kysely';
import type { Db } from '../../db/connect';
import type { OpenApiDocument } from '../../api/openapi';

/**
 * Issue 18 (SPEC §10 "Hostile peers and inputs"): hostile requests generated from the API's own
 * OpenAPI document, so a new route, parameter or body field is covered without editing the test.
 * Each request carries exactly one hostile value where the API must refuse it (MUST_REFUSE), so a
 * run of them must leave every table as it was.
 */

/** Text PostgreSQL cannot store as it is: NUL, lone surrogates (refused in any string). */
export const UNSTORABLE_TEXT = ['a\u0000b', '\u0000', '\ud800', 'x\udc00y', 'a\u0000\ud800'];
/** Instants outside PostgreSQL's range or outside 1970–9999 (refused wherever an instant is expected). */
export const HOSTILE_INSTANTS = ['-005000-01-01T00:00:00Z', '0000-12-31T23:59:59Z', '1969-12-31T23:59:59Z', '+010000-01-01T00:00:00Z', '+275760-09-13T00:00:00Z', '2026-01-01T00:00:00+15:00', '2026-01-01T00:00:00\u0000Z'];
/** JSON numbers beyond 2^53 and beyond any int8, as raw tokens (JSON has no limit; JavaScript rounds). */
export const HOSTILE_NUMBERS = ['9007199254740993', '18446744073709551616', '1e300', '-1e300', '1.5', '-9007199254740993'];
/** The same, as query-string text. */
export const HOSTILE_QUERY_NUMBERS = [...HOSTILE_NUMBERS, 'NaN', 'Infinity', '0x10', ''];
/** Control bytes PostgreSQL stores: a request may accept them, but never answer 5xx. */
export const CONTROL_TEXT = ['a\u0001\u0008\u001b\u001f\u007fb', '\u0085\u2028\u2029\ufeff', '😀'.repeat(3), 'é'.normalize('NFD')];

/** Forged cursors: valid base64url around values PostgreSQL refuses or the API never issued. */
export function forgedCursors(): string[] {
  const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
  return [
    b64('2020-01-01T00:00:00Z|a\u0000b'),
    b64('-005000-01-01T00:00:00Z|o-1'),
    b64('+275760-09-13T00:00:00.000Z|o-1'),
    b64('2020-01-01T00:00:00Z|\ud800'),
    b64('v1:99999999999999999999999:1'),
    b64('v1:1:-1'),
    '99999999999999999999-1',
    '1-9999999',
    '-1',
    'a\u0000',
    '%00',
  ];
}

export type Role = 'backend' | 'ops' | 'finance' | 'none';
export interface HostileRequest {
  readonly method: string;
  readonly path: string;
  readonly body?: string;
  readonly role: Role;
  /** What was hostile, for the failure message. */
  readonly what: string;
}

type Schema = Record<string, unknown>;
interface Operation {
  readonly method: string;
  readonly path: string;
  readonly parameters: ReadonlyArray<{ name: string; in: string; schema: Schema }>;
  readonly body?: Schema;
  readonly example?: unknown;
}

/** Every operation of the document, with its JSON body schema and a recorded request example. */
export function operationsOf(doc: OpenApiDocument): Operation[] {
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => {
      const content = (op.requestBody?.content as Record<string, { schema: Schema; examples?: Record<string, { value: unknown }> }> | undefined)?.['application/json'];
      const example = content?.examples ? Object.values(content.examples)[0]?.value : undefined;
      return { method: method.toUpperCase(), path, parameters: op.parameters, ...(content ? { body: content.schema } : {}), ...(example === undefined ? {} : { example }) };
    }),
  );
}

/** A plausible value for a JSON schema (refs resolved), the base a hostile body mutates. */
export function sampleOf(schema: Schema | undefined, doc: OpenApiDocument, depth = 0): unknown {
  if (!schema || depth > 8) return 'x';
  if (typeof schema.$ref === 'string') return sampleOf(doc.components.schemas[schema.$ref.split('/').pop() as string] as Schema, doc, depth + 1);
  const branch = (schema.anyOf ?? schema.oneOf ?? schema.allOf) as Schema[] | undefined;
  if (branch?.[0]) return sampleOf(branch[0], doc, depth + 1);
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if (schema.type === 'object' || schema.properties) {
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    return Object.fromEntries(Object.entries(properties).map(([key, value]) => [key, sampleOf(value, doc, depth + 1)]));
  }
  if (schema.type === 'array') return [sampleOf(schema.items as Schema, doc, depth + 1)];
  if (schema.type === 'integer' || schema.type === 'number') return typeof schema.minimum === 'number' ? Math.max(schema.minimum, 1) : 1;
  if (schema.type === 'boolean') return true;
  if (schema.format === 'date-time') return '2026-06-01T00:00:00Z';
  return 'x1';
}

type Leaf = { readonly path: readonly (string | number)[]; readonly value: unknown };

/** Every scalar of a JSON value, with its path. */
export function leavesOf(value: unknown, path: readonly (string | number)[] = []): Leaf[] {
  if (Array.isArray(value)) return value.flatMap((item, index) => leavesOf(item, [...path, index]));
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([key, item]) => leavesOf(item, [...path, key]));
  return [{ path, value }];
}

/** The JSON text of `base` with the leaf at `path` replaced by a raw JSON token. */
export function withRawLeaf(base: unknown, path: readonly (string | number)[], rawToken: string): string {
  const marker = `~hostile~${Math.random().toString(36).slice(2)}~`;
  const copy = JSON.parse(JSON.stringify(base)) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path[path.length - 1] as string | number] = marker;
  return JSON.stringify(copy).replace(`"${marker}"`, rawToken);
}

const looksLikeInstant = (value: unknown) => typeof value === 'string' && /^\d{4}-\d\d-\d\dT/.test(value);

/** The hostile raw tokens for one body leaf: unstorable text for strings, instants for dates, big numbers for numbers. */
export function hostileTokensFor(value: unknown): string[] {
  if (typeof value === 'number') return HOSTILE_NUMBERS;
  if (typeof value !== 'string') return [];
  return [...UNSTORABLE_TEXT, ...(looksLikeInstant(value) ? HOSTILE_INSTANTS : [])].map((text) => JSON.stringify(text));
}

/** Row counts of every application table (information_schema: new tables are covered). */
export async function tableCounts(db: Db): Promise<Record<string, number>> {
  const { rows: tables } = await sql<{ name: string }>`
    select table_name as name from information_schema.tables
    where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`.execute(db);
  const counts: Record<string, number> = {};
  for (const { name } of tables) {
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from ${sql.table(name)}`.execute(db);
    counts[name] = Number(rows[0]?.n ?? 0);
  }
  return counts;
}
