/**
 * JSON for stored documents (event payloads, read-model details): bigint is written as a decimal
 * string, and read back as bigint for every key that names an amount in fen (`…Fen`, SPEC §1:
 * units in names), so the money convention is what makes the round trip exact.
 */
export function toStoredJson<T>(value: T): unknown {
  return JSON.parse(JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
}

export function fromStoredJson<T>(value: unknown): T {
  return JSON.parse(JSON.stringify(value), (key, v: unknown) =>
    key.endsWith('Fen') && typeof v === 'string' && /^-?\d+$/.test(v) ? BigInt(v) : v,
  ) as T;
}
