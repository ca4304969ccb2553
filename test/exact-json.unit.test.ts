import { parseJsonExact, stringifyExact } from '../platform/exact-json';

/** Issue 18: amounts beyond 2^53 written and read exactly, everything else as JSON.stringify/parse do. */
describe('exact JSON for amounts beyond 2^53', () => {
  const big = 9_020_000_000_000_000n;

  test('the API writes a bigint as its exact integer, also beyond 2^53 and int8', () => {
    expect(stringifyExact({ balanceFen: big, small: 5n, huge: -(2n ** 70n), at: new Date(0), list: [1n] })).toBe(
      `{"balanceFen":9020000000000000,"small":5,"huge":-1180591620717411303424,"at":"1970-01-01T00:00:00.000Z","list":[1]}`,
    );
  });

  test('a string that looks like the marker or a big integer stays a string', () => {
    const text = stringifyExact({ note: '~int~abc~123', digits: '90200000000000001234', balanceFen: big });
    expect(parseJsonExact(text)).toEqual({ note: '~int~abc~123', digits: '90200000000000001234', balanceFen: big });
  });

  test('the reader turns only integers beyond 2^53 into bigint; fractions, exponents and strings are left alone', () => {
    const text = '{"a":9007199254740993,"b":-9007199254740993,"c":9007199254740991,"d":0.12345678901234567,"e":1e-12345678901234567,"f":"12345678901234567890","g":[12345678901234567890],"h":1.5e300}';
    expect(parseJsonExact(text)).toEqual({ a: 9007199254740993n, b: -9007199254740993n, c: 9007199254740991, d: JSON.parse('0.12345678901234567') as number, e: 0, f: '12345678901234567890', g: [12345678901234567890n], h: 1.5e300 });
  });

  test('round trip', () => {
    const value = { accounts: [{ account: 'client:c', balanceFen: big }], totalFen: 0n, title: 'say "9020000000000000"' };
    expect(parseJsonExact(stringifyExact(value))).toEqual({ ...value, totalFen: 0 });
  });
});
