import { readFileSync } from 'node:fs';
import { CLIENT_JSON_FILE, CLIENT_SCHEMA_FILE, EXACT_JSON_SOURCE, generateClientJson, runGenerator } from '../scripts/generate-client';

/**
 * Issue 12 item 4: the typed client's types (client/schema.d.ts) are generated from the document
 * the API serves. The committed file must equal a fresh generation from the current routes, so the
 * client cannot drift from the API: after a schema change, run `npm run client:generate`.
 */
test('client/schema.d.ts is what `npm run client:generate` produces from the current document', async () => {
  const fresh = await runGenerator('--stdout');
  expect(fresh).toContain('export interface paths');
  expect(fresh).toContain('"/v1/task-orders/{orderId}/accept"');
  const committed = readFileSync(CLIENT_SCHEMA_FILE, 'utf8');
  // (a one-line verdict first: the full diff of a 9,000-line file is not the useful message)
  expect({ upToDate: committed === fresh, hint: 'run npm run client:generate' }).toEqual({ upToDate: true, hint: 'run npm run client:generate' });
}, 60_000);

/**
 * Issue 19: the client's exact JSON reader is platform/exact-json.ts, copied: the API reads its own
 * JSON with the platform's (it must not import the client), and the client, a package of its own,
 * must not import outside its folder. The copy must be the source to the letter, and the source
 * must import nothing, so that the copy compiles alone.
 */
test('client/json.ts is platform/exact-json.ts, copied by `npm run client:generate`', () => {
  const source = readFileSync(EXACT_JSON_SOURCE, 'utf8');
  expect(source).not.toMatch(/^\s*(import|export .* from)\b/m);
  const committed = readFileSync(CLIENT_JSON_FILE, 'utf8');
  expect({ upToDate: committed === generateClientJson(), hint: 'run npm run client:generate' }).toEqual({ upToDate: true, hint: 'run npm run client:generate' });
  expect(committed.endsWith(source)).toBe(true);
});
