/**
 * `npm run sim -- --seed N --orders N --concurrency N --faults all|none|worker-kill,api-kill,…`
 *
 * The seeded simulation of SPEC §10 "Proof": a stack of separate processes (sim/stack.ts), random
 * order lifecycles with their reference model (sim/lifecycles.ts), faults meanwhile
 * (sim/faults.ts), then one line per global invariant. Exit code 0 when every invariant holds.
 */
import { parseArgs } from './args';
import { checkLifecycle, runLifecycle } from './lifecycles';
import { SIM_POLICY } from './policy';
import { createRng } from './rng';
import { runSimulation, type LifecycleModule, type SimulationOptions, type SimulationResult } from './run';

export { parseArgs, runSimulation };
export type { SimulationOptions, SimulationResult };

/** The real lifecycles, model and policy of the simulation. */
export const LIFECYCLES: LifecycleModule = { runLifecycle, checkLifecycle, createRng, policy: SIM_POLICY };

/** The simulation with its real lifecycles (what `npm run sim` and test/sim.e2e.test.ts run). */
export function simulate(options: SimulationOptions): Promise<SimulationResult> {
  return runSimulation(options, LIFECYCLES);
}

async function main(): Promise<void> {
  let options: SimulationOptions;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(2);
  }
  const abort = new AbortController();
  let interrupted = 0;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      interrupted += 1;
      if (interrupted > 1) process.exit(130); // the stack's exit hook SIGKILLs every child
      console.log(`\n${signal}: stopping the stack …`);
      abort.abort();
    });
  }
  const result = await simulate({ ...options, signal: abort.signal });
  process.exit(interrupted ? 130 : result.ok ? 0 : 1);
}

if (require.main === module) void main();
