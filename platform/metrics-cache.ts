/**
 * The figures a scrape reads from the database and Temporal (open orders, stuck orders) are
 * collected at most once per `maxAgeMs`, whatever the number of scrapers and API instances that ask:
 * one collection at a time (concurrent scrapes share it), and a scrape waits for a fresh one at most
 * `waitMs` before it answers with the last values. A failed collection keeps the last values; the
 * caller exposes when they were collected and whether the last attempt failed.
 */
export interface Collected<T> {
  /** The last successful collection, if any. */
  readonly value: T | undefined;
  /** When it finished (epoch ms). */
  readonly collectedAtMs: number | undefined;
  /** Whether the latest attempt failed (the value is then older). */
  readonly lastFailed: boolean;
}

export interface CachedCollector<T> {
  get(): Promise<Collected<T>>;
}

export interface CacheOptions {
  readonly maxAgeMs: number;
  readonly waitMs: number;
  readonly nowMs?: () => number;
  readonly onError?: (error: unknown) => void;
}

export function cachedCollector<T>(collect: () => Promise<T>, { maxAgeMs, waitMs, nowMs = Date.now, onError }: CacheOptions): CachedCollector<T> {
  let value: T | undefined;
  let collectedAtMs: number | undefined;
  let lastFailed = false;
  let startedAtMs: number | undefined;
  let inFlight: Promise<void> | undefined;

  const snapshot = (): Collected<T> => ({ value, collectedAtMs, lastFailed });

  const refresh = (): Promise<void> => {
    startedAtMs = nowMs();
    inFlight ??= collect()
      .then((next) => {
        value = next;
        collectedAtMs = nowMs();
        lastFailed = false;
      })
      .catch((error: unknown) => {
        lastFailed = true;
        onError?.(error);
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };

  return {
    async get() {
      // A failed attempt also counts as recent: a database that is down is not asked again on every scrape.
      const last = Math.max(collectedAtMs ?? -Infinity, lastFailed ? (startedAtMs ?? -Infinity) : -Infinity);
      const fresh = nowMs() - last < maxAgeMs;
      if (fresh) return snapshot();
      const running = inFlight ?? refresh();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((done) => {
        timer = setTimeout(done, waitMs);
        timer.unref?.();
      });
      await Promise.race([running, timeout]);
      if (timer) clearTimeout(timer);
      return snapshot();
    },
  };
}
