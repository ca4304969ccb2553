import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { checkOrderBatch, type OrderBatchResult, type RawOrderBatch } from './audit-order-checks';

/**
 * Worker threads for the audit's per-order checks (db/audit/audit-worker.ts). The audit's own thread
 * reads batches from PostgreSQL (and parses its wire format); the workers fold and compare them.
 * Batches are handed to the least busy worker; results come back in the order they were asked for.
 */
export class OrderCheckPool {
  private readonly workers: Array<{ worker: Worker; busy: number }> = [];
  private readonly pending = new Map<number, { resolve: (r: OrderBatchResult) => void; reject: (e: Error) => void; slot: { busy: number } }>();
  private nextId = 0;
  private failure: Error | undefined;

  private constructor(size: number) {
    for (let i = 0; i < size; i += 1) {
      const worker = startWorker();
      const slot = { worker, busy: 0 };
      worker.on('message', (message: { id: number; result?: OrderBatchResult; error?: string }) => {
        const waiting = this.pending.get(message.id);
        if (!waiting) return;
        this.pending.delete(message.id);
        waiting.slot.busy -= 1;
        if (message.error !== undefined) waiting.reject(new Error(`audit worker: ${message.error}`));
        else waiting.resolve(message.result as OrderBatchResult);
      });
      worker.on('error', (error) => this.fail(error));
      worker.on('exit', (code) => {
        if (code !== 0) this.fail(new Error(`audit worker exited with code ${code}`));
      });
      this.workers.push(slot);
    }
  }

  /** `size` workers; none (checks on the calling thread) on a single core. */
  static start(size: number): OrderCheckPool | undefined {
    return size > 0 ? new OrderCheckPool(size) : undefined;
  }

  /**
   * The default number of workers: one per core (at most 4; none on a single core). The audit's
   * own thread mostly waits (for PostgreSQL and for the workers), so the workers get the cores.
   */
  static defaultSize(): number {
    const cores = availableParallelism();
    return cores > 1 ? Math.min(4, cores) : 0;
  }

  get size(): number {
    return this.workers.length;
  }

  check(batch: RawOrderBatch, wantStates: boolean): Promise<OrderBatchResult> {
    if (this.failure) return Promise.reject(this.failure);
    const slot = this.workers.reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = (this.nextId += 1);
    slot.busy += 1;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, slot });
      slot.worker.postMessage({ id, batch, wantStates });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map(({ worker }) => worker.terminate()));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const [id, waiting] of this.pending) {
      this.pending.delete(id);
      waiting.reject(error);
    }
  }
}

/** Checks a batch on this thread (no pool) or on a worker. */
export function checkOn(pool: OrderCheckPool | undefined, batch: RawOrderBatch, wantStates: boolean): Promise<OrderBatchResult> {
  if (!pool) {
    try {
      return Promise.resolve(checkOrderBatch(batch, wantStates));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }
  return pool.check(batch, wantStates);
}

/**
 * The worker's entry: run from the TypeScript sources (as `npm run …` and the tests do, through
 * tsx), the worker registers tsx before loading it; a build to JavaScript loads the .js beside.
 */
function startWorker(): Worker {
  const entry = join(__dirname, __filename.endsWith('.ts') ? 'audit-worker.ts' : 'audit-worker.js');
  // A young generation larger than V8's default: checking allocates much that dies young.
  const resourceLimits = { maxYoungGenerationSizeMb: 96 };
  if (!entry.endsWith('.ts')) return new Worker(entry, { resourceLimits });
  const tsx = require.resolve('tsx/cjs/api');
  return new Worker(`require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(entry)});`, { eval: true, resourceLimits });
}
