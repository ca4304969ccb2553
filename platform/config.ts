/** Runtime configuration from the environment; every value has a default for `npm start`. */
export interface Config {
  readonly databaseUrl: string | undefined; // unset: npm start runs an embedded PostgreSQL
  readonly temporalAddress: string | undefined; // unset: npm start runs a Temporal dev server
  readonly temporalNamespace: string;
  readonly taskQueue: string;
  readonly apiHost: string;
  readonly apiPort: number;
  readonly dataDir: string;
  readonly embeddedPostgresPort: number;
  readonly temporalPort: number;
  readonly temporalUiPort: number;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    databaseUrl: env.DATABASE_URL || undefined,
    temporalAddress: env.TEMPORAL_ADDRESS || undefined,
    temporalNamespace: env.TEMPORAL_NAMESPACE || 'default',
    taskQueue: env.TASK_QUEUE || 'xingtu-orders',
    apiHost: env.API_HOST || '127.0.0.1',
    apiPort: port(env.PORT, 3000),
    dataDir: env.DATA_DIR || '.data',
    embeddedPostgresPort: port(env.EMBEDDED_PG_PORT, 54329),
    temporalPort: port(env.TEMPORAL_PORT, 7233),
    temporalUiPort: port(env.TEMPORAL_UI_PORT, 8233),
  };
}

function port(value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`invalid port: ${value}`);
  return n;
}
