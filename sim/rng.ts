import type { Rng } from './types';

/**
 * The simulation's seeded generator (SPEC §10 "a seeded simulation"): mulberry32 for the stream,
 * FNV-1a + splitmix32's finaliser to derive a child seed from a label, so `fork('order-7')` gives
 * the same stream for the same parent seed whatever else the run did. 32-bit state: plenty for
 * choosing commands, and every value is reproducible from the seed printed by the runner.
 */
export function createRng(seed: number): Rng {
  const base = seed >>> 0;
  let state = base;

  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  const int = (min: number, max: number): number => {
    if (!Number.isInteger(min) || !Number.isInteger(max) || max < min) throw new RangeError(`rng.int(${min}, ${max}): need integers min ≤ max`);
    return min + Math.floor(next() * (max - min + 1));
  };

  return {
    next,
    int,
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new RangeError('rng.pick: no items');
      return items[int(0, items.length - 1)] as T;
    },
    chance: (p: number) => next() < p,
    // The child's seed depends on the parent's seed and the label only, not on how far the parent has run.
    fork: (label: string) => createRng(mix(base ^ fnv1a(label))),
  };
}

/** FNV-1a over the label's UTF-16 code units. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** splitmix32's finaliser: spreads nearby seeds far apart. */
function mix(value: number): number {
  let z = (value + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}
