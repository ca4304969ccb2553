import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Request and response examples taken from real calls (issue 12 item 3): `npm run docs:examples`
 * (scripts/record-api-examples.ts) drives lifecycles and refusals through the sandbox API and writes
 * one file per operation here, `<operationId>.json`; the OpenAPI document shows them as the
 * `examples` of the operation's request body and of the response status each call got.
 * test/api-examples.unit.test.ts validates every example against the document's schemas, so a
 * schema change that breaks one fails there, and the fix is re-recording.
 */

/** One real call: what was sent (when it had a body) and what came back. */
export interface RecordedExample {
  /** Unique within the operation; the key under `examples`. */
  readonly name: string;
  readonly summary: string;
  /** The call as made, e.g. `POST /v1/task-orders/o-ex-full/accept`. */
  readonly call: string;
  readonly request?: unknown;
  readonly status: number;
  readonly response: unknown;
}

export interface OperationExamples {
  /** `METHOD /openapi/{path}` */
  readonly operation: string;
  readonly operationId: string;
  readonly examples: readonly RecordedExample[];
}

export const EXAMPLES_DIR = __dirname;

/** Every recorded operation's examples, read from api/examples/*.json. */
export function loadApiExamples(dir: string = EXAMPLES_DIR): OperationExamples[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => JSON.parse(readFileSync(join(dir, file), 'utf8')) as OperationExamples);
}

type Example = { summary: string; value: unknown };
type Media = { schema?: unknown; examples?: Record<string, Example> };
interface DocumentShape {
  paths: Record<string, Record<string, {
    requestBody?: { content: Record<string, Media> };
    responses: Record<string, { content?: Record<string, Media> }>;
  }>>;
}

/**
 * Adds the recorded examples to the document's operations (JSON bodies only). An example for an
 * operation or a status the document no longer has is left out here; the unit test reports it.
 */
export function attachExamples<D extends DocumentShape>(document: D, recorded: readonly OperationExamples[] = loadApiExamples()): D {
  for (const { operation, examples } of recorded) {
    const [method = '', path = ''] = operation.split(' ');
    const op = document.paths[path]?.[method.toLowerCase()];
    if (!op) continue;
    for (const example of examples) {
      const shown = { summary: example.summary, value: example.response };
      const json = op.responses[String(example.status)]?.content?.['application/json'];
      if (json) (json.examples ??= {})[example.name] = shown;
      const body = op.requestBody?.content['application/json'];
      // A body the API refused as malformed (400) is shown with its answer, not offered as a request to send.
      if (body && example.request !== undefined && example.status !== 400) (body.examples ??= {})[example.name] = { summary: `${example.summary} (→ ${example.status})`, value: example.request };
    }
  }
  return document;
}
