/**
 * The same-job baseline's HTTP side (bench/orders.ts; SPEC §10 "Speed"): a minimal relay from HTTP
 * to Temporal — node:http, the body parsed and passed on, no validation, no database — so that the
 * baseline pays an HTTP hop per command as the product's API does, and nothing else of ours.
 *
 *   POST /place/<workflowId>  SameJobInput → update-with-start of sameJobOrderWorkflow, step 1
 *   POST /step/<workflowId>   { step }     → one Update, awaited to its outcome in one call
 *
 * Answers 200 with the Update's result, or 500 with the error's message.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import { RELAY_PLACE, RELAY_STEP, SAME_JOB_WORKFLOW, baselineStepUpdate, type SameJobInput } from './baseline-api';

function body(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

export function sameJobRelay(client: Client, taskQueue: string): Server {
  const place = (workflowId: string, input: SameJobInput) =>
    client.workflow.executeUpdateWithStart(baselineStepUpdate, {
      args: [{ step: 1 }],
      startWorkflowOperation: new WithStartWorkflowOperation(SAME_JOB_WORKFLOW, { workflowId, taskQueue, args: [input], workflowIdConflictPolicy: 'USE_EXISTING' }),
    });
  const step = (workflowId: string, args: { step: number }) => client.workflow.getHandle(workflowId).executeUpdate(baselineStepUpdate, { args: [args] });
  return createServer((request, response) => {
    const url = request.url ?? '';
    void body(request)
      .then((text) => {
        const parsed = JSON.parse(text) as never;
        if (url.startsWith(RELAY_PLACE)) return place(decodeURIComponent(url.slice(RELAY_PLACE.length)), parsed);
        if (url.startsWith(RELAY_STEP)) return step(decodeURIComponent(url.slice(RELAY_STEP.length)), parsed);
        throw new Error(`no route ${url}`);
      })
      .then(
        (result) => {
          const out = JSON.stringify(result);
          response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
          response.end(out);
        },
        (error: unknown) => {
          const out = error instanceof Error ? error.message : String(error);
          response.writeHead(500, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(out) });
          response.end(out);
        },
      );
  });
}
