/**
 * Issue 18: the API's JSON writer. Money is bigint fen in code (SPEC §1) and a JSON number has no
 * limit, so every bigint is written as the exact integer it is — also beyond 2^53, where
 * `Number(x)` would round and JSON.stringify throws. (Node 20 has no JSON.rawJSON: a bigint beyond
 * the safe range is first written as a string carrying a marker no other string of the document
 * contains, and the quotes around those strings are then removed.)
 */
export function stringifyExact(payload: unknown): string {
  const marker = `~int~${Math.random().toString(36).slice(2)}~`;
  let wrapped = 0;
  const text = JSON.stringify(payload, (_key, value: unknown) => {
    if (typeof value !== 'bigint') return value;
    if (value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= -BigInt(Number.MAX_SAFE_INTEGER)) return Number(value);
    wrapped += 1;
    return `${marker}${value.toString()}`;
  });
  if (wrapped === 0) return text;
  // The marker is random per call; a document string that happened to contain it would be found here.
  const found = text.split(`"${marker}`).length - 1;
  if (found !== wrapped) throw new Error('a response string collides with the integer marker');
  return text.replace(new RegExp(`"${marker}(-?\\d+)"`, 'g'), '$1');
}
