import { readFileSync } from 'node:fs';
import { CLIENT_SCHEMA_FILE, runGenerator } from '../scripts/generate-client';

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
