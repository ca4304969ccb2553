/**
 * Exact JSON for amounts (issue 18): amounts and totals are JSON integers of fen (SPEC §1) with no
 * upper limit, and a total can pass 2^53, beyond which `JSON.parse` (and `response.json()`) silently
 * rounds to the nearest double and `JSON.stringify` refuses a bigint.
 *
 * - `stringifyExact` writes every bigint as the exact integer it is (the API's JSON writer).
 * - `parseJsonExact` reads every integer beyond ±(2^53 − 1) as a `bigint` and everything else as
 *   `JSON.parse` does, so code that adds amounts should accept `number | bigint` (or convert every
 *   amount with `BigInt(x)`):
 *
 *       const { response } = await api.GET('/v1/ledger/trial-balance', { parseAs: 'text' });
 *       const tb = parseJsonExact(await response.text());
 *
 * Node 20 has no `JSON.rawJSON` nor `JSON.parse` source access, so a long integer travels as a
 * string carrying a random marker that the text does not contain: the writer removes the quotes
 * around those strings, the reader finds the long integers in the text first and its reviver turns
 * exactly the marked strings back into bigint.
 *
 * This file imports nothing: the typed client (client/) ships a copy of it as client/json.ts
 * (`npm run client:generate`; test/client-generated.unit.test.ts fails when the copy differs).
 */

/** The JSON text of a value, every bigint as its exact integer, also beyond 2^53 and int8. */
export function stringifyExact(payload: unknown, indent?: number): string {
  const marker = `~int~${Math.random().toString(36).slice(2)}~`;
  let wrapped = 0;
  const text = JSON.stringify(
    payload,
    (_key, value: unknown) => {
      if (typeof value !== 'bigint') return value;
      if (value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= -BigInt(Number.MAX_SAFE_INTEGER)) return Number(value);
      wrapped += 1;
      return `${marker}${value.toString()}`;
    },
    indent,
  );
  if (wrapped === 0) return text;
  // The marker is random per call; a document string that happened to contain it would be found here.
  const found = text.split(`"${marker}`).length - 1;
  if (found !== wrapped) throw new Error('a response string collides with the integer marker');
  return text.replace(new RegExp(`"${marker}(-?\\d+)"`, 'g'), '$1');
}

/**
 * A string, or an integer token outside strings: a minus, 16 or more digits, not part of a
 * fraction or an exponent (nothing of a number before it, no `.`, `e` or digit after it).
 */
const TOKENS = /"(?:[^"\\]|\\.)*"|(?<![\d.eE+-])-?\d{16,}(?![\d.eE])/g;

/** JSON.parse, but every integer beyond ±(2^53 − 1) is a bigint. */
export function parseJsonExact(text: string): unknown {
  const marker = freshMarker(text);
  let wrapped = false;
  const marked = text.replace(TOKENS, (token) => {
    if (token.startsWith('"') || Number.isSafeInteger(Number(token))) return token;
    wrapped = true;
    return `"${marker}${token}"`;
  });
  if (!wrapped) return JSON.parse(text);
  return JSON.parse(marked, (_key, value: unknown) => (typeof value === 'string' && value.startsWith(marker) ? BigInt(value.slice(marker.length)) : value));
}

/** A marker that occurs nowhere in the text, so no string of the document can pass for an integer. */
function freshMarker(text: string): string {
  for (;;) {
    const marker = `~int~${Math.random().toString(36).slice(2)}~`;
    if (!text.includes(marker)) return marker;
  }
}
