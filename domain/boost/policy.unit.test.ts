import { assertValidBoostPolicy, DAY_MS, DEFAULT_BOOST_POLICY, MINUTE_MS } from './policy';
import { fromStoredJson, toStoredJson } from '../json';
import { addDays, dayNumberOf, endOfShanghaiDayMs, isIsoDate, shanghaiDateOf, startOfShanghaiDayMs, weekdayOf } from './calendar-date';

describe('boost policy snapshot (SPEC §1)', () => {
  test('B1, B2, B4–B7: the defaults', () => {
    expect(DEFAULT_BOOST_POLICY).toEqual({
      windowDays: 45,
      minVideos: 3,
      halfLifeDays: 15,
      minPremiumBp: 1000n,
      maxPremiumBp: 5000n,
      marginBp: 12000n,
      quoteValidityMs: 30 * MINUTE_MS,
      publicationWindowMonths: 1,
      boostDurationMs: 14 * DAY_MS,
      refundBusinessDays: 7,
    });
    expect(assertValidBoostPolicy(DEFAULT_BOOST_POLICY)).toBe(DEFAULT_BOOST_POLICY);
  });

  test('§1: the snapshot survives the stored-JSON round trip exactly (…Bp back to bigint)', () => {
    expect(fromStoredJson(toStoredJson(DEFAULT_BOOST_POLICY))).toEqual(DEFAULT_BOOST_POLICY);
  });

  test.each([
    ['minVideos 0', { minVideos: 0 }],
    ['fractional minVideos', { minVideos: 2.5 }],
    ['a negative window', { windowDays: -1 }],
    ['an inverted band', { minPremiumBp: 6000n }],
    ['a zero margin', { marginBp: 0n }],
    ['refundBusinessDays 0', { refundBusinessDays: 0 }],
  ])('rejects a policy with %s', (_name, overrides) => {
    expect(() => assertValidBoostPolicy({ ...DEFAULT_BOOST_POLICY, ...overrides })).toThrow(RangeError);
  });
});

describe('Asia/Shanghai calendar dates (SPEC §1)', () => {
  test('§1: the Shanghai date of an instant is its UTC+8 date', () => {
    expect(shanghaiDateOf(Date.parse('2025-09-25T15:59:59.999Z'))).toBe('2025-09-25');
    expect(shanghaiDateOf(Date.parse('2025-09-25T16:00:00.000Z'))).toBe('2025-09-26');
  });

  test('§1: a Shanghai day runs from the previous day 16:00 UTC to 16:00 UTC', () => {
    expect(new Date(startOfShanghaiDayMs('2025-10-13')).toISOString()).toBe('2025-10-12T16:00:00.000Z');
    expect(new Date(endOfShanghaiDayMs('2025-10-13')).toISOString()).toBe('2025-10-13T16:00:00.000Z');
  });

  test('date arithmetic across months, years and leap days', () => {
    expect(addDays('2025-12-31', 1)).toBe('2026-01-01');
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
    expect(addDays('2025-03-01', -1)).toBe('2025-02-28');
    expect(dayNumberOf('1970-01-02')).toBe(1);
    expect(weekdayOf('2025-09-28')).toBe(0); // Sunday
    expect(weekdayOf('2025-10-11')).toBe(6); // Saturday
  });

  test.each(['2025-02-29', '2025-13-01', '2025-00-10', '2025-1-01', '25-01-01', '2025-01-01T00:00:00Z', ''])('%j is not a date', (value) => {
    expect(isIsoDate(value)).toBe(false);
  });

  test('2028-02-29 is a date', () => {
    expect(isIsoDate('2028-02-29')).toBe(true);
  });
});
