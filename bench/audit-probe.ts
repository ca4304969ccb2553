/**
 * Preloaded into the audit process the benchmark measures (bench/audit.ts runs
 * `node --import tsx --import ./bench/audit-probe.ts scripts/finance.ts audit …`): samples the heap
 * while it runs and, when the process exits, writes one line to stderr:
 * `AUDIT_PROBE {"wallMs", "maxRssBytes", "peakHeapUsedBytes", "cpuUserMs", "cpuSystemMs"}`.
 */
import { readFileSync, readdirSync, writeSync } from 'node:fs';

const started = process.hrtime.bigint();
let peakHeapUsed = 0;
const sample = () => {
  const { heapUsed } = process.memoryUsage();
  if (heapUsed > peakHeapUsed) peakHeapUsed = heapUsed;
};
const timer = setInterval(sample, 20);
timer.unref();

process.on('exit', () => {
  sample();
  const usage = process.resourceUsage();
  // CPU per thread (Linux): the audit's thread, its workers, V8's and libuv's helpers.
  let threads: Array<{ name: string; cpuMs: number }> = [];
  try {
    threads = readdirSync('/proc/self/task')
      .map((tid) => {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return { name: `${name}#${tid}`, cpuMs: (Number(fields[11]) + Number(fields[12])) * 10 };
      })
      .filter((t) => t.cpuMs >= 500)
      .sort((a, b) => b.cpuMs - a.cpuMs);
  } catch {
    // no /proc
  }
  const figures = {
    threads,
    wallMs: Number(process.hrtime.bigint() - started) / 1e6,
    maxRssBytes: usage.maxRSS * 1024,
    peakHeapUsedBytes: peakHeapUsed,
    cpuUserMs: usage.userCPUTime / 1000,
    cpuSystemMs: usage.systemCPUTime / 1000,
  };
  writeSync(2, `AUDIT_PROBE ${JSON.stringify(figures)}\n`);
});
