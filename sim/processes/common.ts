/**
 * Shared by the simulation's process entry points (sim/processes/api.ts, worker.ts): they run as
 * children of the simulation with an IPC channel, say "ready" over it, and exit when it closes (the
 * simulation died), so no process outlives a run.
 */

export function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (this entry point is started by sim/stack.ts)`);
  return value;
}

export function log(component: string, message: string): void {
  console.log(`${new Date().toISOString()} [${component}] ${message}`);
}

/** Tells the simulation this process is up. */
export function ready(): void {
  process.send?.({ type: 'ready', pid: process.pid });
}

/** Exits when the simulation that started this process is gone (its IPC channel closed). */
export function exitWithParent(): void {
  process.on('disconnect', () => process.exit(0));
}

/** Retries `connect` until it succeeds, for at most `budgetMs` (a dependency restarting at our start). */
export async function retrying<T>(what: string, connect: () => Promise<T>, budgetMs = 60_000): Promise<T> {
  const deadline = Date.now() + budgetMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      log('start', `${what} not reachable yet (attempt ${attempt}): ${error instanceof Error ? error.message : String(error)}`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 200 * attempt)));
    }
  }
}
