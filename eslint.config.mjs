import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [
  'assert', 'buffer', 'child_process', 'cluster', 'crypto', 'dgram', 'dns', 'events', 'fs', 'fs/promises',
  'http', 'https', 'net', 'os', 'path', 'perf_hooks', 'process', 'readline', 'stream', 'timers', 'tls',
  'url', 'util', 'v8', 'vm', 'worker_threads', 'zlib',
];

const builtinPaths = (message) => nodeBuiltins.flatMap((name) => [{ name, message }, { name: `node:${name}`, message }]);

/** What the layer rule does not look at: tests assemble whatever they check. */
const TESTS = ['**/*.test.ts', 'test/**'];

/** The project's folders, besides the layers: code of tools, runs and tests, never imported by the layers. */
const TOOLS = ['scripts', 'sim', 'bench', 'test'];

/**
 * A relative import that reaches one of `folders` (the project's top-level folders): a path segment
 * of that name, however many `../` lead to it. No folder or file inside a layer bears the name of
 * another top-level folder, so the segment names the folder.
 */
const into = (folders, message) => ({ regex: `^\\.{1,2}/(?:.*/)?(?:${folders.join('|')})(?:/|$)`, message });

// Workflow code must stay deterministic: no Node built-ins, and activities only as types.
const WORKFLOW_PATHS = builtinPaths('Workflows must not import Node built-ins (determinism).');
const WORKFLOW_PATTERNS = [
  { group: ['**/activities', '**/activities/*'], allowTypeImports: true,
    message: 'Workflows may import activities only as types (proxyActivities<typeof activities>).' },
  { group: ['**/db', '**/db/*', 'pg', 'kysely', '@temporalio/client', '@temporalio/worker'],
    message: 'Workflows do no I/O: call an activity instead.' },
];

/** Floor 0 to 5 (docs/architecture.md): what each folder must not import. */
const LAYERS = [
  {
    folder: 'domain',
    patterns: [into(['platform', 'db', 'activities', 'workflows', 'api', 'worker', 'client', ...TOOLS], 'domain/ is the pure core: it imports nothing of the project but domain/ (docs/architecture.md, "The layers").')],
    // The workflows import domain/, so it must stay deterministic too.
    paths: builtinPaths('domain/ is pure and runs inside workflows: no Node built-ins (determinism).'),
  },
  {
    folder: 'platform',
    patterns: [
      into(['domain', 'db', 'activities', 'workflows', 'api', 'worker', 'client', 'sim', 'bench', 'test'], 'platform/ has no business knowledge and is importable by every layer: it imports nothing of the project (pass it a function or a value instead).'),
      // The one file of scripts/ it reads: the pinned Temporal tools, data shared with scripts/provision-temporal.mjs.
      { regex: '^\\.{1,2}/(?:.*/)?scripts/(?!temporal-tools\\.json$)', message: 'platform/ reads only scripts/temporal-tools.json of scripts/.' },
    ],
  },
  {
    folder: 'db',
    patterns: [into(['activities', 'workflows', 'api', 'worker', 'client', ...TOOLS], 'db/ (floor 1) imports only domain/ and platform/.')],
  },
  {
    folder: 'activities',
    patterns: [into(['workflows', 'api', 'worker', 'client', ...TOOLS], 'activities/ (floor 2) import only db/, domain/ and platform/; what both sides of an activity call agree on is in domain/.')],
  },
  {
    folder: 'workflows',
    paths: WORKFLOW_PATHS,
    patterns: [...WORKFLOW_PATTERNS, into(['api', 'worker', 'client', ...TOOLS], 'workflows/ (floor 3) import only domain/, platform/ and, as types, activities/.')],
  },
  {
    folder: 'api',
    patterns: [into(['worker', 'client', ...TOOLS], 'api/ (floor 4) never imports worker/ nor the typed client (a package of its own): shared code goes to a lower floor.')],
  },
  {
    folder: 'worker',
    patterns: [into(['client', ...TOOLS], 'worker/ imports the layers, not the typed client nor tools and tests.')],
  },
  {
    // The typed client is a package of its own (client/package.json): nothing outside its folder.
    folder: 'client',
    patterns: [{ regex: '^\\.\\./', message: 'client/ is a package of its own: it imports nothing outside client/ (copy shared code in with npm run client:generate).' }],
  },
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'coverage/**', '.data/**', '.scratch/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // The layers (docs/architecture.md, "The layers"): each folder imports only folders on lower
  // floors. Tests (*.test.ts, test/**) are exempt: they assemble whatever they check.
  ...LAYERS.map(({ folder, patterns, paths = [] }) => ({
    files: [`${folder}/**/*.ts`],
    ignores: TESTS,
    rules: { 'no-restricted-imports': ['error', { paths, patterns }] },
  })),
  {
    // A workflow's own tests keep the workflow rules (determinism), as before the layer rule.
    files: ['workflows/**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: WORKFLOW_PATHS, patterns: WORKFLOW_PATTERNS }] },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { module: 'writable', require: 'readonly', process: 'readonly', console: 'readonly', __dirname: 'readonly' } },
  },
);
