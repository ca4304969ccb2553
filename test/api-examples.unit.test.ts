import { loadApiExamples, type OperationExamples } from '../api/examples';
import type { OpenApiDocument } from '../api/openapi';
import { runGenerator } from '../scripts/generate-client';

/**
 * Issue 12 item 3: the document's request/response examples are real calls recorded by
 * `npm run docs:examples` (api/examples/*.json). Each must still be true of the document the API
 * serves: its operation and status exist, its request body matches the operation's request schema
 * and its response matches that status's schema. A schema change that breaks an example fails here;
 * the fix is re-recording (`npm run docs:examples`), never editing the example by hand.
 *
 * The validator is a small one for the JSON Schema the document uses (zod's openapi-3.0 output); a
 * keyword it does not know fails the test rather than being skipped.
 */

type Schema = Record<string, unknown>;
let doc: OpenApiDocument;
let recorded: OperationExamples[];

beforeAll(async () => {
  doc = JSON.parse(await runGenerator('--document')) as OpenApiDocument; // the document GET /v1/openapi.json serves
  recorded = loadApiExamples();
}, 30_000);

const ANNOTATIONS = new Set(['description', 'title', 'default', 'examples', 'example', 'readOnly', 'writeOnly', 'deprecated', 'nullable']);
const FORMATS: Record<string, (value: string) => boolean> = {
  'date-time': (v) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(v) && !Number.isNaN(Date.parse(v)),
  date: (v) => /^\d{4}-\d\d-\d\d$/.test(v) && !Number.isNaN(Date.parse(v)),
  uri: (v) => URL.canParse(v),
  email: (v) => /^[^@\s]+@[^@\s]+$/.test(v),
  uuid: (v) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v),
  // Issue 18: an amount of any size (`type: integer` is checked apart); it never comes as a string.
  int64: (v) => /^-?\d+$/.test(v),
};

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** The errors of `value` against `schema` (OpenAPI 3.0 JSON Schema), each with its JSON path. */
function validate(schema: Schema, value: unknown, path = '$'): string[] {
  if (typeof schema.$ref === 'string') {
    const target = doc.components.schemas[schema.$ref.replace('#/components/schemas/', '')];
    if (!target) return [`${path}: unresolved ${schema.$ref}`];
    return validate(target, value, path);
  }
  if (value === null && schema.nullable === true) return [];
  const errors: string[] = [];
  for (const [keyword, arg] of Object.entries(schema)) {
    if (ANNOTATIONS.has(keyword) || keyword.startsWith('x-')) continue;
    errors.push(...check(keyword, arg, schema, value, path));
  }
  return errors;
}

function check(keyword: string, arg: unknown, schema: Schema, value: unknown, path: string): string[] {
  const type = typeOf(value);
  const fail = (why: string) => [`${path}: ${why}`];
  switch (keyword) {
    case 'type':
      return type === arg || (arg === 'number' && type === 'integer') ? [] : fail(`is ${type}, not ${String(arg)}`);
    case 'enum':
      return (arg as unknown[]).some((v) => v === value) ? [] : fail(`${JSON.stringify(value)} is not one of ${JSON.stringify(arg)}`);
    case 'const':
      return value === arg ? [] : fail(`is not ${JSON.stringify(arg)}`);
    case 'anyOf':
      return (arg as Schema[]).some((s) => validate(s, value, path).length === 0) ? [] : fail(`matches no anyOf branch (${(arg as Schema[]).map((s) => validate(s, value, path)[0]).join(' | ')})`);
    case 'oneOf': {
      const matching = (arg as Schema[]).filter((s) => validate(s, value, path).length === 0).length;
      return matching === 1 ? [] : fail(`matches ${matching} oneOf branches, not 1`);
    }
    case 'allOf':
      return (arg as Schema[]).flatMap((s) => validate(s, value, path));
    case 'properties':
      if (type !== 'object') return [];
      return Object.entries(arg as Record<string, Schema>).flatMap(([name, s]) => (name in (value as object) ? validate(s, (value as Record<string, unknown>)[name], `${path}.${name}`) : []));
    case 'required':
      return type !== 'object' ? [] : (arg as string[]).filter((name) => !(name in (value as object))).map((name) => `${path}: lacks required ${name}`);
    case 'additionalProperties': {
      if (type !== 'object') return [];
      const known = new Set(Object.keys((schema.properties ?? {}) as object));
      const extra = Object.keys(value as object).filter((name) => !known.has(name));
      if (arg === false) return extra.map((name) => `${path}: unexpected property ${name}`);
      return typeof arg === 'object' && arg !== null ? extra.flatMap((name) => validate(arg as Schema, (value as Record<string, unknown>)[name], `${path}.${name}`)) : [];
    }
    case 'items':
      return type === 'array' ? (value as unknown[]).flatMap((item, i) => validate(arg as Schema, item, `${path}[${i}]`)) : [];
    case 'uniqueItems':
      return type !== 'array' || arg !== true || new Set((value as unknown[]).map((v) => JSON.stringify(v))).size === (value as unknown[]).length ? [] : fail('has repeated items');
    case 'minItems':
    case 'maxItems':
      return type !== 'array' ? [] : bound(keyword, (value as unknown[]).length, arg as number, path);
    case 'minLength':
    case 'maxLength':
      return type !== 'string' ? [] : bound(keyword, [...(value as string)].length, arg as number, path);
    case 'minimum':
    case 'maximum': {
      if (type !== 'number' && type !== 'integer') return [];
      const exclusive = schema[keyword === 'minimum' ? 'exclusiveMinimum' : 'exclusiveMaximum'] === true;
      const n = value as number;
      const ok = keyword === 'minimum' ? (exclusive ? n > (arg as number) : n >= (arg as number)) : exclusive ? n < (arg as number) : n <= (arg as number);
      return ok ? [] : fail(`${n} is beyond ${keyword} ${String(arg)}${exclusive ? ' (exclusive)' : ''}`);
    }
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return typeof arg === 'boolean' ? [] : fail(`${keyword} as a number is not OpenAPI 3.0`);
    case 'pattern':
      return type !== 'string' || new RegExp(arg as string).test(value as string) ? [] : fail(`${JSON.stringify(value)} does not match ${String(arg)}`);
    case 'format': {
      const test = FORMATS[arg as string];
      if (!test) return fail(`unknown format ${String(arg)} (teach the validator)`);
      return type !== 'string' || test(value as string) ? [] : fail(`${JSON.stringify(value)} is not a ${String(arg)}`);
    }
    default:
      return fail(`the validator does not know the keyword ${keyword} (teach it)`);
  }
}

function bound(keyword: string, actual: number, limit: number, path: string): string[] {
  const ok = keyword.startsWith('min') ? actual >= limit : actual <= limit;
  return ok ? [] : [`${path}: ${actual} is beyond ${keyword} ${limit}`];
}

function operationOf(entry: OperationExamples) {
  const [method = '', path = ''] = entry.operation.split(' ');
  return doc.paths[path]?.[method.toLowerCase()];
}

describe('the recorded API examples (issue 12, api/examples)', () => {
  test('every example belongs to an operation and a status the document has, and matches their schemas', () => {
    expect(recorded.length).toBeGreaterThan(20);
    const problems: string[] = [];
    for (const entry of recorded) {
      const op = operationOf(entry);
      if (!op) {
        problems.push(`${entry.operation}: no such operation in the document (re-record: npm run docs:examples)`);
        continue;
      }
      if (op.operationId !== entry.operationId) problems.push(`${entry.operation}: operationId ${op.operationId}, recorded as ${entry.operationId}`);
      for (const example of entry.examples) {
        const where = `${entry.operation} "${example.name}"`;
        const response = op.responses[String(example.status)]?.content?.['application/json'];
        if (!response) problems.push(`${where}: status ${example.status} is not documented with a JSON body`);
        else problems.push(...validate(response.schema, example.response).map((e) => `${where} response ${e}`));
        if (example.request === undefined) continue;
        const request = op.requestBody?.content['application/json'];
        if (!request) problems.push(`${where}: the operation takes no JSON body`);
        else if (example.status !== 400) problems.push(...validate(request.schema, example.request).map((e) => `${where} request ${e}`));
        // §8: 400 is only for a body that does not match its schema, so the schema must refuse it too.
        else if (validate(request.schema, example.request).length === 0) problems.push(`${where}: answered 400, yet its body matches the schema`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('the served document shows them: request examples and response examples by status', () => {
    const place = doc.paths['/v1/task-orders']?.post as unknown as {
      requestBody: { content: Record<string, { examples?: Record<string, { value: unknown }> }> };
      responses: Record<string, { content?: Record<string, { examples?: Record<string, { summary: string; value: { orderId?: string; error?: { code: string } } }> }> }>;
    };
    expect(place.requestBody.content['application/json']?.examples?.['place-full']?.value).toMatchObject({ orderId: 'o-ex-full', paymentMode: 'full' });
    expect(place.responses['201']?.content?.['application/json']?.examples?.['place-full']?.value).toMatchObject({ orderId: 'o-ex-full', status: 'awaiting_acceptance' });
    expect(place.responses['422']?.content?.['application/json']?.examples?.['idempotency-mismatch']?.value).toMatchObject({ error: { code: 'idempotency_mismatch' } });
  });

  test('the recordings cover a task lifecycle, a boost lifecycle and refusals', () => {
    const statuses = new Map(recorded.map((entry) => [entry.operation, entry.examples.map((e) => e.status)]));
    for (const command of ['accept', 'videos', 'reviews', 'publish', 'reject', 'remind', 'restore-price', 'pay-balance', 'cancel', 'cancel-response']) {
      expect({ command, recorded: statuses.has(`POST /v1/task-orders/{orderId}/${command}`) }).toEqual({ command, recorded: true });
    }
    for (const operation of ['POST /v1/task-orders', 'POST /v1/video-stats', 'POST /v1/boost-quotes', 'POST /v1/boost-orders', 'GET /v1/boost-orders/{boostOrderId}', 'POST /v1/boost-orders/{boostOrderId}/release-refund', 'POST /v1/balance-payments']) {
      expect({ operation, recorded: statuses.has(operation) }).toEqual({ operation, recorded: true });
    }
    const all = [...statuses.values()].flat();
    for (const status of [200, 201, 400, 401, 403, 404, 409, 422, 429]) expect(all).toContain(status);
  });

  test('the validator catches a broken example (so the first test can fail)', () => {
    const op = doc.paths['/v1/task-orders']?.post;
    const body = op?.requestBody?.content['application/json']?.schema as Schema;
    const place = recorded.find((e) => e.operation === 'POST /v1/task-orders')?.examples.find((e) => e.name === 'place-full')?.request as Record<string, unknown>;
    expect(validate(body, place)).toEqual([]);
    expect(validate(body, { ...place, priceFen: '100000' })).toEqual(['$.priceFen: is string, not integer']);
    expect(validate(body, { ...place, priceFen: 1.5 })).toEqual(['$.priceFen: is number, not integer']);
    const { brief: _brief, ...noBrief } = place;
    expect(validate(body, { ...noBrief, extra: 1 })).toEqual(expect.arrayContaining(['$: lacks required brief', '$: unexpected property extra']));
    const response = op?.responses['201']?.content?.['application/json']?.schema as Schema;
    const placed = recorded.find((e) => e.operation === 'POST /v1/task-orders')?.examples.find((e) => e.name === 'place-full')?.response as Record<string, unknown>;
    expect(validate(response, placed)).toEqual([]);
    expect(validate(response, { ...placed, status: 'lost' }).length).toBeGreaterThan(0);
  });
});
