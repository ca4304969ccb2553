import { parseFaults, type FaultKind } from './faults';
import type { SimulationOptions } from './run';

export const USAGE = `usage: npm run sim -- [--seed N] [--orders N] [--concurrency N] [--faults all|none|KIND,…] [--workers N] [--keep]
  --seed N          the run's seed (default: a random one, printed)
  --orders N        how many random lifecycles (default 50)
  --concurrency N   lifecycles at once (default 30)
  --faults …        all (default), none, or some of worker-kill, api-kill, pg-restart, pg-terminate, temporal-restart
  --workers N       worker processes (default 2, at least 2)
  --keep            keep the run's directory (data and logs) even when it passes`;

export function parseArgs(argv: readonly string[]): SimulationOptions {
  let seed = Math.floor(Math.random() * 2 ** 31);
  let orders = 50;
  let concurrency = 30;
  let faults: FaultKind[] = parseFaults('all');
  let workers = 2;
  let keep: SimulationOptions['keep'] = 'on-failure';
  const integer = (flag: string, value: string | undefined, min: number): number => {
    const n = Number(value);
    if (value === undefined || !Number.isSafeInteger(n) || n < min) throw new Error(`${flag} needs an integer ≥ ${min}\n${USAGE}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.includes('=') ? (arg.split(/=(.*)/s, 2) as [string, string]) : [arg, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--seed':
        seed = integer(flag, value(), 0);
        break;
      case '--orders':
        orders = integer(flag, value(), 1);
        break;
      case '--concurrency':
        concurrency = integer(flag, value(), 1);
        break;
      case '--faults':
        faults = parseFaults(value() ?? '');
        break;
      case '--workers':
        workers = integer(flag, value(), 2);
        break;
      case '--keep':
        keep = 'always';
        break;
      case '--help':
      case '-h':
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${arg}\n${USAGE}`);
    }
  }
  return { seed, orders, concurrency, faults, workers, keep };
}
