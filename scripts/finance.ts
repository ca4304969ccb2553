import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import type { Writable } from 'node:stream';
import { auditLedger } from '../db/audit';
import { createDb } from '../db/connect';
import { accountStatement, decodeStatementCursor, exportTransfersCsv, trialBalance } from '../db/finance';
import { accountBalance } from '../db/ledger';
import { rebuildTaskOrderReadModels } from '../db/rebuild';
import { rebuildBoostOrderReadModels } from '../db/boost-orders';
import { isAccountId } from '../domain/ledger/accounts';
import { loadConfig } from '../platform/config';

const USAGE = `Finance tools (SPEC §7). DATABASE_URL selects the database.

  npm run finance -- audit                                  F3: exit code 1 if there is a discrepancy
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
    },
  });
  const [command, arg] = positionals;
  if (!command || values.help) {
    process.stdout.write(USAGE);
    return command || values.help ? 0 : 2;
  }
  const { databaseUrl } = loadConfig();
  if (!databaseUrl) throw new Error('DATABASE_URL is not set (e.g. postgres://postgres:postgres@127.0.0.1:54329/xingtu for npm start)');
  const db = createDb({ connectionString: databaseUrl, maxConnections: 2 });
  try {
    switch (command) {
      case 'audit': {
        const report = await auditLedger(db);
        print(report);
        return report.ok ? 0 : 1;
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

class UsageError extends Error {}

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
    else console.error(error);
    process.exitCode = 2;
  },
);
