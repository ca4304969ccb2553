/**
 * SPEC §10 "Proof", in CI: the seeded simulation (sim/main.ts) — its own stack of separate
 * processes (PostgreSQL, the Temporal dev server, the API, two workers), ≥ 150 random order
 * lifecycles through the API, every kind of fault at least once while they run — must end with
 * every global invariant holding. SIM_SEED picks another seed (the report prints the one used).
 */
import { FAULT_KINDS } from '../sim/faults';
import { simulate } from '../sim/main';

const SEED = Number(process.env.SIM_SEED ?? 20261201);
const ORDERS = Number(process.env.SIM_ORDERS ?? 150);
const BUDGET_MS = 5 * 60_000;

test(
  `the simulation (seed ${SEED}, ${ORDERS} lifecycles, every fault) ends with zero violations`,
  async () => {
    const lines: string[] = [];
    const log = (line: string) => {
      lines.push(line);
      if (process.env.SIM_VERBOSE) process.stdout.write(`${line}\n`);
    };
    // A wedge must end as a report, not as jest's timeout: the lifecycles get 3½ minutes.
    const result = await simulate({ seed: SEED, orders: ORDERS, concurrency: 30, faults: FAULT_KINDS, log, lifecyclesBudgetMs: 210_000 });
    // The whole report when it failed (the invariant lines, the violations, the seed, the kept logs).
    if (!result.ok) console.log(lines.join('\n'));
    else console.log(lines.filter((line) => /^(PASS|FAIL|orders |sim )/.test(line)).join('\n'));
    for (const kind of FAULT_KINDS) expect({ kind, injected: result.summary.faults[kind] >= 1 }).toEqual({ kind, injected: true });
    expect(result.summary.lifecycles).toBe(ORDERS);
    expect(result.violations).toEqual([]);
    expect(result.summary.runSeconds * 1000).toBeLessThan(BUDGET_MS);
  },
  BUDGET_MS + 4 * 60_000, // room for the report of a run that went wrong (its budget is asserted above)
);
