/**
 * Static checks of the production-like stack (docker-compose.yml + Dockerfile). No Docker engine
 * runs where the tests run, so this reads the files and checks what `docker compose up` relies on.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../platform/config';

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
  ports?: Array<string | number | { published?: string | number; target?: number }>;
  depends_on?: string[] | Record<string, DependsOnEntry>;
  healthcheck?: Healthcheck;
  restart?: string;
  volumes?: Array<string | { source?: string; target?: string }>;
}
interface ComposeFile {
  version?: unknown;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
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
  'temporal',
  'temporal-search-attributes',
  'temporal-ui',
  'app-postgres',
  'migrate',
  'worker',
  'api',
];
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

function publishedPorts(name: string): Array<{ host: string; container: string }> {
  return (service(name).ports ?? []).map((port) => {
    if (typeof port === 'object') return { host: String(port.published ?? ''), container: String(port.target ?? '') };
    const parts = String(port).split('/')[0]!.split(':');
    const container = parts[parts.length - 1]!;
    return { host: parts.length > 1 ? parts[parts.length - 2]! : container, container };
  });
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
      expect(minor(service('temporal-search-attributes').image)).toBeDefined();
      expect(minor(service('temporal-search-attributes').image)).toBe(minor(service('temporal').image));
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

  describe('ports', () => {
    it.each([
      ['api', '3000'],
      ['temporal', '7233'],
      ['temporal-ui', '8080'],
    ])('%s publishes %s on the host', (name, port) => {
      expect(publishedPorts(name)).toContainEqual({ host: port, container: port });
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
});
