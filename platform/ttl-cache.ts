/**
 * A small cache of values that go stale after `ttlMs`, holding at most `maxEntries` (the oldest
 * written dropped first), so it never grows with the number of keys it has seen. Issue 18: the
 * stuck list keeps Temporal's description of each open workflow for a few seconds, so console
 * tabs polling every 10 s do not describe every workflow again each time.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAtMs: number }>();
  private hitCount = 0;
  private missCount = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** The cached value of `key`, or `load`'s (then cached); a failed load is not cached. */
  async get(key: string, load: () => Promise<V>): Promise<V> {
    const now = this.nowMs();
    const cached = this.entries.get(key);
    if (cached && cached.expiresAtMs > now) {
      this.hitCount += 1;
      return cached.value;
    }
    this.missCount += 1;
    const value = await load();
    this.entries.delete(key); // re-inserted last: the map's order is oldest written first
    this.entries.set(key, { value, expiresAtMs: this.nowMs() + this.ttlMs });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    return value;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Lookups answered from the cache, and those that loaded (for tests and diagnostics). */
  get stats(): { hits: number; misses: number } {
    return { hits: this.hitCount, misses: this.missCount };
  }
}
