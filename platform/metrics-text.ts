import { metricsRegistry } from './metrics';

/**
 * The Prometheus text exposition of this process: the application registry (platform/metrics.ts)
 * followed by the Temporal SDK's own metrics where the SDK runtime's Prometheus exporter runs in
 * this process (worker/main.ts, scripts/start.ts). That exporter is the SDK core's own HTTP server;
 * it binds to loopback and is read from here, so one protected endpoint serves everything of a
 * process (`npm start`: the API's GET /metrics; a worker: its metrics endpoint). Its names
 * (`temporal_…`) never collide with ours (`xingtu_…`, `process_…`, `nodejs_…`).
 */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** The SDK exporter answers from memory in microseconds; beyond this it is not there. */
const SDK_FETCH_TIMEOUT_MS = 2000;
/** Far above the SDK's few hundred series; a bound all the same (SPEC §8: limits on everything). */
const MAX_SDK_EXPOSITION_BYTES = 4 * 1024 * 1024;

export interface ExpositionOptions {
  /** http://127.0.0.1:<port>/metrics of the SDK runtime's Prometheus exporter, if it runs here. */
  readonly sdkMetricsUrl?: string | undefined;
}

export async function renderExposition({ sdkMetricsUrl }: ExpositionOptions = {}): Promise<string> {
  const own = await metricsRegistry.metrics();
  if (!sdkMetricsUrl) return own;
  const sdk = await fetchSdkExposition(sdkMetricsUrl);
  const up = `# HELP xingtu_sdk_metrics_up 1 when the Temporal SDK's Prometheus exporter of this process answered this scrape\n# TYPE xingtu_sdk_metrics_up gauge\nxingtu_sdk_metrics_up ${sdk === undefined ? 0 : 1}\n`;
  return `${own.endsWith('\n') ? own : `${own}\n`}${up}${sdk ?? ''}`;
}

async function fetchSdkExposition(url: string): Promise<string | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(SDK_FETCH_TIMEOUT_MS) });
    if (!response.ok) return undefined;
    const text = await response.text();
    if (text.length > MAX_SDK_EXPOSITION_BYTES) return undefined;
    return text.endsWith('\n') || text === '' ? text : `${text}\n`;
  } catch {
    return undefined; // not started yet, or gone: the rest of the scrape still answers
  }
}

/** One sample of an exposition: its name, labels and value. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * Parses the samples of a Prometheus text exposition (comments skipped; label values unescaped).
 * Enough for the tests and the compose check; not a full OpenMetrics parser.
 */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    samples.push({ name: match[1]!, labels: parseLabels(match[2] ?? ''), value: Number(match[3]) });
  }
  return samples;
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const match of text.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
    labels[match[1]!] = match[2]!.replace(/\\(.)/g, (_all, c: string) => (c === 'n' ? '\n' : c));
  }
  return labels;
}

/** The value of the one sample named `name` whose labels include `labels` (summed if several match). */
export function sampleValue(samples: readonly Sample[], name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  const matching = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return matching.length === 0 ? undefined : matching.reduce((sum, s) => sum + s.value, 0);
}
