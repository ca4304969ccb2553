/**
 * Reading this API's JSON exactly (issue 18). Amounts and totals are JSON integers of fen (SPEC
 * §1) and have no upper limit: a total can pass 2^53, beyond which `JSON.parse` (and
 * `response.json()`) silently rounds to the nearest double. `parseJsonExact` reads every integer
 * beyond ±(2^53 − 1) as a `bigint` and everything else as `JSON.parse` does, so code that adds
 * amounts should accept `number | bigint` (or convert every amount with `BigInt(x)`).
 *
 *     const { response } = await api.GET('/v1/ledger/trial-balance', { parseAs: 'text' });
 *     const tb = parseJsonExact(await response.text());
 *
 * Node 20 has no `JSON.parse` source access, so the long integers are found in the text first:
 * each is wrapped as a string carrying a random marker that the text does not contain, and the
 * reviver turns exactly those strings back into bigint.
 */

/**
 * A string, or an integer token outside strings: a minus, 16 or more digits, not part of a
 * fraction or an exponent (nothing of a number before it, no `.`, `e` or digit after it).
 */
const TOKENS = /"(?:[^"\\]|\\.)*"|(?<![\d.eE+-])-?\d{16,}(?![\d.eE])/g;

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
