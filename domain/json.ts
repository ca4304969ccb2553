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
