/**
 * JSON for stored documents (event payloads, read-model details): bigint is written as a decimal
 * string, and read back as bigint for every key that names an amount in fen (`…Fen`, SPEC §1:
 * units in names) or a rate in basis points (`…Bp`, e.g. the policy snapshot in TaskOrderPlaced),
 * so the naming convention is what makes the round trip exact.
 */
const BIGINT_KEY = /(Fen|Bp)$/;

/** The stored JSON text of a value: bigint as a decimal string, dates as ISO strings. */
export function storedJsonText(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

export function toStoredJson<T>(value: T): unknown {
  return JSON.parse(storedJsonText(value));
}

export function fromStoredJson<T>(value: unknown): T {
  return JSON.parse(JSON.stringify(value), (key, v: unknown) =>
    BIGINT_KEY.test(key) && typeof v === 'string' && /^-?\d+$/.test(v) ? BigInt(v) : v,
  ) as T;
}

/** JSON with sorted keys and bigint as decimal strings: one content, one text, one hash. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}
