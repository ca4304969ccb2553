import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import type { Writable } from 'node:stream';
import { auditLedger } from '../db/audit/audit';
import { createDb } from '../db/connect';
import { accountStatement, decodeStatementCursor, exportTransfersCsv, trialBalance } from '../db/finance';
import { accountBalance } from '../db/ledger';
import { rebuildBoostOrderReadModels, rebuildTaskOrderReadModels } from '../db/rebuild';
import { isAccountId } from '../domain/ledger/accounts';
import { Client, Connection } from '@temporalio/client';
import { temporalWorkflowOutcomes } from '../api/workflow-outcomes';
import { loadConfig, type Config } from '../platform/config';
import { dataConverter } from '../platform/data-converter';
import { unavailableDependency } from '../platform/faults';

const USAGE = `Finance tools (SPEC §7). DATABASE_URL selects the database; the audit also asks Temporal
(TEMPORAL_ADDRESS, default 127.0.0.1:TEMPORAL_PORT as npm start runs it) for the closed orders'
final workflow states (L6).

  npm run finance -- audit [--skip-workflows] [--since-checkpoint]
                                                            F3: exit code 1 if there is a discrepancy; a clean audit
                                                            records a checkpoint, --since-checkpoint audits only what
                                                            came after the latest one (the chains from its heads, the
                                                            orders with events or transactions since)
  npm run finance -- trial-balance                          F2
  npm run finance -- balance <account>                      F1
  npm run finance -- statement <account> [--cursor C] [--limit N]
  npm run finance -- export --from <instant> --to <instant> [--out file.csv]    F4 (stdout by default)
  npm run finance -- rebuild-read-models                    E2: task_orders and boost_orders recomputed from the events
`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      out: { type: 'string' },
      cursor: { type: 'string' },
      limit: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      'skip-workflows': { type: 'boolean' },
      'since-checkpoint': { type: 'boolean' },
    },
  });
  const [command, arg] = positionals;
  if (!command || values.help) {
    process.stdout.write(USAGE);
    return command || values.help ? 0 : 2;
  }
  const config = loadConfig();
  const { databaseUrl } = config;
  if (!databaseUrl) throw new SetupError('DATABASE_URL is not set (e.g. postgres://postgres:postgres@127.0.0.1:54329/xingtu for npm start)');
  const db = createDb({ connectionString: databaseUrl, maxConnections: 2 });
  try {
    switch (command) {
      case 'audit': {
        const temporal = values['skip-workflows'] ? { error: '--skip-workflows: final workflow states not compared' } : await connectTemporal(config);
        try {
          const report = await auditLedger(db, {
            ...('client' in temporal ? { workflows: temporalWorkflowOutcomes(temporal.client) } : { workflowsSkipped: temporal.error }),
            sinceCheckpoint: values['since-checkpoint'] === true,
          });
          print(report);
          return report.ok ? 0 : 1;
        } finally {
          if ('connection' in temporal) await temporal.connection.close();
        }
      }
      case 'trial-balance':
        print(await trialBalance(db));
        return 0;
      case 'balance':
        print({ account: account(arg), balanceFen: await accountBalance(db, account(arg)) });
        return 0;
      case 'statement': {
        const after = values.cursor === undefined ? undefined : decodeStatementCursor(values.cursor);
        if (values.cursor !== undefined && !after) throw new UsageError(`not a cursor: ${values.cursor}`);
        const limit = values.limit === undefined ? 100 : Number(values.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new UsageError('--limit is 1–10000');
        print(await accountStatement(db, account(arg), { ...(after ? { after } : {}), limit }));
        return 0;
      }
      case 'export': {
        const from = instant('--from', values.from);
        const to = instant('--to', values.to);
        if (from >= to) throw new UsageError('--from must be before --to');
        const out: Writable = values.out ? createWriteStream(values.out) : process.stdout;
        const counts = await exportTransfersCsv(db, { from, to }, async (chunk) => {
          if (!out.write(chunk)) await once(out, 'drain');
        });
        if (values.out) {
          out.end();
          await once(out, 'finish');
        }
        process.stderr.write(`exported ${counts.transfers} transfers of ${counts.transactions} transactions\n`);
        return 0;
      }
      case 'rebuild-read-models': {
        const taskOrders = await rebuildTaskOrderReadModels(db);
        const boostOrders = await rebuildBoostOrderReadModels(db);
        print({ taskOrders, boostOrders });
        return taskOrders.failures.length === 0 && boostOrders.failures.length === 0 ? 0 : 1;
      }
      default:
        throw new UsageError(`unknown command ${command}`);
    }
  } finally {
    await db.destroy();
  }
}

/** Something missing around the command (e.g. DATABASE_URL): its message alone, no stack. */
class SetupError extends Error {}
class UsageError extends Error {}

/** L6 needs Temporal; when it cannot be reached the audit still runs and says what it skipped. */
async function connectTemporal(config: Config): Promise<{ client: Client; connection: Connection } | { error: string }> {
  const address = config.temporalAddress ?? `127.0.0.1:${config.temporalPort}`;
  try {
    const connection = await Connection.connect({ address, connectTimeout: '5s', ...(config.temporalTls ? { tls: config.temporalTls } : {}) });
    return { connection, client: new Client({ connection, namespace: config.temporalNamespace, dataConverter }) };
  } catch (error) {
    return { error: `Temporal at ${address} not reachable (${error instanceof Error ? error.message : String(error)}): final workflow states not compared` };
  }
}

function account(value: string | undefined): string {
  if (!value || !isAccountId(value)) throw new UsageError(`not a ledger account: ${value ?? '(missing)'}`);
  return value;
}

function instant(flag: string, value: string | undefined): Date {
  const date = value === undefined ? new Date(NaN) : new Date(value);
  if (Number.isNaN(date.getTime())) throw new UsageError(`${flag} needs an ISO 8601 instant, e.g. 2025-01-01T00:00:00+08:00`);
  return date;
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? (v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v), 2)}\n`);
}

// exitCode, not exit(): output still buffered for a pipe must not be cut off.
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) process.stderr.write(`${error.message}\n\n${USAGE}`);
    else if (error instanceof SetupError) process.stderr.write(`finance: ${error.message}\n`);
    else if (unavailableDependency(error) === 'postgres') process.stderr.write(`finance: the database at DATABASE_URL is not reachable (${String((error as Error).message)})\n`);
    else console.error(error);
    process.exitCode = 2;
  },
);
